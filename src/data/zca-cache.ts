// On-disk cache of fitted ZCA matrices: fitting CIFAR's 3072x3072 whitening takes minutes, so later runs reuse it.
import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { GcnZcaParams } from './zca.js';
import type { ImageSet } from './types.js';

const MAGIC = 'GAPLAB-ZCA-1';

/** Hash of everything the fit depends on: the sampled pixels, the image shape and the constants. */
export function zcaCacheKey(train: ImageSet, indices: number[], params: GcnZcaParams): string {
  const h = createHash('sha256');
  h.update(JSON.stringify({ MAGIC, h: train.height, w: train.width, c: train.channels, m: indices.length, params }));
  const d = train.height * train.width * train.channels;
  for (const i of indices) h.update(train.images.subarray(i * d, (i + 1) * d));
  return h.digest('hex').slice(0, 32);
}

function cacheFile(dir: string, key: string): string {
  return path.join(dir, `zca-${key}.bin`);
}

/** The cached mean (d) and whitening matrix (d x d), or undefined when absent or not the expected size. */
export function loadZcaCache(dir: string, key: string, d: number): { file: string; mean: Float32Array; whitening: Float32Array } | undefined {
  const file = cacheFile(dir, key);
  let bytes: Buffer;
  try {
    bytes = fs.readFileSync(file);
  } catch {
    return undefined;
  }
  if (bytes.length !== (d + d * d) * 4) return undefined;
  const all = new Float32Array(d + d * d);
  new Uint8Array(all.buffer).set(bytes);
  return { file, mean: all.slice(0, d), whitening: all.slice(d) };
}

/** Writes the cache atomically (temp + rename); returns the file, or undefined when the folder is not writable. */
export function saveZcaCache(dir: string, key: string, mean: Float32Array, whitening: Float32Array): string | undefined {
  const file = cacheFile(dir, key);
  const tmp = `${file}.part-${process.pid}-${randomBytes(4).toString('hex')}`;
  try {
    fs.mkdirSync(dir, { recursive: true });
    const fd = fs.openSync(tmp, 'w');
    try {
      fs.writeFileSync(fd, new Uint8Array(mean.buffer, mean.byteOffset, mean.byteLength));
      fs.writeFileSync(fd, new Uint8Array(whitening.buffer, whitening.byteOffset, whitening.byteLength));
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, file);
    return file;
  } catch {
    fs.rmSync(tmp, { force: true });
    return undefined;
  }
}
