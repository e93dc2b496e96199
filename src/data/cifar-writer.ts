// Writes a CIFAR-10 binary file set of any size (seeded random pixels, valid labels) to benchmark and test the full-size
// pipeline without the real archive.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { UserError } from '../errors.js';
import { CIFAR10_NAMES, CIFAR_LAYOUT } from './cifar.js';

/** Records per training file, as in the official archive (data_batch_1.bin ... data_batch_5.bin of 10,000 each). */
export const CIFAR_RECORDS_PER_FILE = 10_000;

export interface CifarSetSize {
  /** Training images, spread over data_batch_<k>.bin files of up to `recordsPerFile` records. */
  train: number;
  /** Test images (test_batch.bin). */
  test: number;
  /** Seeds pixels and labels: the same seed writes the same bytes. */
  seed?: number;
  recordsPerFile?: number;
}

/**
 * Fills `out` from a seeded 32-bit generator (mulberry32). Pixels need no statistical quality, only determinism and
 * speed: 150 MB in well under a second, where a draw per byte from the project's Rng would take seconds.
 */
function fillRandom(out: Uint8Array, state: { s: number }): void {
  const words = new Uint32Array(out.buffer, out.byteOffset, out.length >>> 2);
  let s = state.s;
  for (let i = 0; i < words.length; i++) {
    s = (s + 0x6d2b79f5) | 0;
    let t = Math.imul(s ^ (s >>> 15), 1 | s);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    words[i] = (t ^ (t >>> 14)) >>> 0;
  }
  for (let i = words.length * 4; i < out.length; i++) {
    s = (s + 0x6d2b79f5) | 0;
    out[i] = Math.imul(s ^ (s >>> 15), 1 | s) >>> 24;
  }
  state.s = s;
}

/** n CIFAR-10 records: random pixel bytes, then each record's first byte replaced by a label in 0..9. */
function records(n: number, state: { s: number }): Buffer {
  const record = CIFAR_LAYOUT.cifar10.labelBytes + 3072;
  const bytes = Buffer.allocUnsafe(n * record);
  fillRandom(bytes, state);
  for (let i = 0; i < n; i++) bytes[i * record] = Math.floor((bytes[i * record] * 10) / 256);
  return bytes;
}

function checkCount(value: number, what: string, min: number): void {
  if (!Number.isSafeInteger(value) || value < min) throw new UserError(`${what}: expected a whole number >= ${min}, got ${value}`);
}

/**
 * Writes data_batch_1.bin ... data_batch_<k>.bin, test_batch.bin and batches.meta.txt into `dir` (created if missing),
 * the layout readCifar expects, and removes other data_batch_<k>.bin files there. Files are written one at a time, so
 * memory stays at one file's bytes (31 MB).
 */
export function writeCifar10(dir: string, size: CifarSetSize): string[] {
  const perFile = size.recordsPerFile ?? CIFAR_RECORDS_PER_FILE;
  checkCount(size.train, 'train', 1);
  checkCount(size.test, 'test', 1);
  checkCount(perFile, 'recordsPerFile', 1);
  try {
    fs.mkdirSync(dir, { recursive: true });
  } catch (e) {
    throw new UserError(`${dir}: cannot create the folder (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  const state = { s: (size.seed ?? 0) | 0 };
  const files: Array<[string, number]> = [];
  for (let k = 0; k * perFile < size.train; k++) files.push([`data_batch_${k + 1}.bin`, Math.min(perFile, size.train - k * perFile)]);
  files.push([CIFAR_LAYOUT.cifar10.testFile, size.test]);
  // Training files of an earlier, larger set would be read along with these.
  const pattern = CIFAR_LAYOUT.cifar10.trainPattern;
  for (const stale of fs.readdirSync(dir)) {
    if (pattern.test(stale) && !files.some(([name]) => name === stale)) fs.rmSync(path.join(dir, stale), { force: true });
  }
  const written: string[] = [];
  const write = (name: string, data: string | Buffer) => {
    const file = path.join(dir, name);
    try {
      fs.writeFileSync(file, data);
    } catch (e) {
      throw new UserError(`${file}: cannot be written (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
    }
    written.push(file);
  };
  for (const [name, n] of files) write(name, records(n, state));
  write(CIFAR_LAYOUT.cifar10.nameFiles.fine, `${CIFAR10_NAMES.join('\n')}\n`);
  return written;
}
