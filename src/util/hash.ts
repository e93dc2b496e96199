// sha256 as lowercase hex: config identities, checkpoint file checksums.
import crypto from 'node:crypto';

export function sha256Hex(data: string | Uint8Array): string {
  return crypto.createHash('sha256').update(data).digest('hex');
}
