// On-disk cache of fitted ZCA matrices: fitting CIFAR's 3072x3072 whitening takes minutes, so later runs reuse it.
//
// File `zca-<key>.bin`: MAGIC, a uint32 LE header length, a JSON header { fit, sha256 }, then the float32 LE values
// (mean, d; whitening, d x d). The header names what the matrix was fitted on and the payload's checksum, so a file
// that was overwritten (zeros, NaN), cut short or copied from another fit is noticed and refitted, never used.
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { writeFileAtomic } from '../io/durable-write.js';
import { mkdirSafe } from '../io/mkdir-safe.js';
import type { GcnZcaParams } from './zca.js';
import type { ImageSet } from './types.js';

const MAGIC = Buffer.from('GAPLAB-ZCA-2\n', 'latin1');
/** MAGIC, then the header length (uint32). */
const PREFIX = MAGIC.length + 4;
/** A header is a few hundred bytes; a larger claimed length is damage. */
const MAX_HEADER = 64 * 1024;

/** Everything a fit depends on: image shape, sample count, GCN/ZCA constants and a hash of the sampled pixels. */
export interface ZcaFit {
  height: number;
  width: number;
  channels: number;
  samples: number;
  params: GcnZcaParams;
  /** sha256 of the sampled images' pixels, in sampling order. */
  pixels: string;
}

export function zcaFit(train: ImageSet, indices: number[], params: GcnZcaParams): ZcaFit {
  const h = createHash('sha256');
  const d = train.height * train.width * train.channels;
  for (const i of indices) h.update(train.images.subarray(i * d, (i + 1) * d));
  const { scale, sqrtBias, filterBias } = params; // fixed key order: the header is compared as JSON text
  return {
    height: train.height, width: train.width, channels: train.channels, samples: indices.length,
    params: { scale, sqrtBias, filterBias }, pixels: h.digest('hex'),
  };
}

/** The cache file for a fit: its name is a hash of the fit, so other data or constants never look at this file. */
export function zcaCacheFile(dir: string, fit: ZcaFit): string {
  return path.join(dir, `zca-${createHash('sha256').update(JSON.stringify(fit)).digest('hex').slice(0, 32)}.bin`);
}

export type ZcaCacheLookup =
  | { kind: 'hit'; file: string; mean: Float32Array; whitening: Float32Array }
  | { kind: 'missing'; file: string }
  /** The file exists but cannot be used; `reason` says why, for one log line. */
  | { kind: 'bad'; file: string; reason: string };

const code = (e: unknown) => (e as NodeJS.ErrnoException).code ?? (e as Error).message;

/** Reads and checks the cached fit: header, the fit it was made for, size, checksum and finite values. */
export function loadZcaCache(dir: string, fit: ZcaFit): ZcaCacheLookup {
  const file = zcaCacheFile(dir, fit);
  let bytes: Buffer;
  try {
    bytes = fs.readFileSync(file);
  } catch (e) {
    // ENOTDIR: `dir` is a file; saving will say so.
    if (code(e) === 'ENOENT' || code(e) === 'ENOTDIR') return { kind: 'missing', file };
    return { kind: 'bad', file, reason: `cannot be read (${code(e)})` };
  }
  const bad = (reason: string): ZcaCacheLookup => ({ kind: 'bad', file, reason });
  if (bytes.length < PREFIX || !bytes.subarray(0, MAGIC.length).equals(MAGIC)) {
    return bad('is not a gaplab ZCA cache of this version (its first bytes are wrong)');
  }
  const headerLength = bytes.readUInt32LE(MAGIC.length);
  if (headerLength > MAX_HEADER || PREFIX + headerLength > bytes.length) return bad('has a damaged header');
  let header: { fit?: unknown; sha256?: unknown };
  try {
    header = JSON.parse(bytes.toString('utf8', PREFIX, PREFIX + headerLength)) as typeof header;
  } catch {
    return bad('has a damaged header');
  }
  if (typeof header !== 'object' || header === null) return bad('has a damaged header');
  if (JSON.stringify(header.fit) !== JSON.stringify(fit)) return bad('was fitted on other images or constants');
  const d = fit.height * fit.width * fit.channels;
  const payload = bytes.subarray(PREFIX + headerLength);
  if (payload.length !== (d + d * d) * 4) {
    return bad(`holds ${payload.length} bytes of values; a ${d}-value fit needs ${(d + d * d) * 4}`);
  }
  if (createHash('sha256').update(payload).digest('hex') !== header.sha256) {
    return bad('fails its checksum (changed or damaged since it was written)');
  }
  const all = new Float32Array(d + d * d);
  new Uint8Array(all.buffer).set(payload);
  if (!all.every(Number.isFinite)) return bad('holds NaN or infinite values');
  return { kind: 'hit', file, mean: all.slice(0, d), whitening: all.slice(d) };
}

/**
 * Why the cache cannot be written in `dir` (e.g. `ENOTDIR` when it is a file), or undefined when it can: checked before
 * the minutes-long fit by creating the folder and a probe file in it.
 */
export function zcaCacheUnwritable(dir: string): string | undefined {
  const probe = path.join(dir, `.zca-probe-${process.pid}`);
  try {
    mkdirSafe(dir);
    fs.writeFileSync(probe, '');
    fs.rmSync(probe);
    return undefined;
  } catch (e) {
    return code(e);
  }
}

/** Writes the cache atomically (durable-write.ts); returns the file, or why it could not be written. */
export function saveZcaCache(dir: string, fit: ZcaFit, mean: Float32Array, whitening: Float32Array): { file: string; error?: string } {
  const file = zcaCacheFile(dir, fit);
  const payload = Buffer.concat([
    new Uint8Array(mean.buffer, mean.byteOffset, mean.byteLength),
    new Uint8Array(whitening.buffer, whitening.byteOffset, whitening.byteLength),
  ]);
  const header = Buffer.from(JSON.stringify({ fit, sha256: createHash('sha256').update(payload).digest('hex') }), 'utf8');
  const length = Buffer.alloc(4);
  length.writeUInt32LE(header.length);
  try {
    mkdirSafe(dir);
    writeFileAtomic(file, Buffer.concat([MAGIC, length, header, payload]));
    return { file };
  } catch (e) {
    return { file, error: (e as Error).message.split('\n')[0] };
  }
}
