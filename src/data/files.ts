// File-system helpers for the loaders: every failure becomes a UserError naming the path and what was expected.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { UserError } from '../errors.js';

/** Environment variable that overrides `data.dir` (the dataset folder and download cache). */
export const DATA_DIR_ENV = 'GAPLAB_DATA_DIR';

/** Largest decompressed size accepted from one gzip file (a guard against gzip bombs; MNIST's largest is 47 MB). */
export const MAX_GUNZIP_BYTES = 1 << 30;

/** The dataset folder: $GAPLAB_DATA_DIR when set, else `data.dir`, resolved against the working directory. */
export function resolveDataDir(dir: string, env: NodeJS.ProcessEnv = process.env): string {
  const override = env[DATA_DIR_ENV];
  return path.resolve(override !== undefined && override !== '' ? override : dir);
}

/** True when `p` is an existing regular file. */
export function isFile(p: string): boolean {
  try {
    return fs.statSync(p).isFile();
  } catch {
    return false;
  }
}

/** True when `p` is an existing directory. */
export function isDir(p: string): boolean {
  try {
    return fs.statSync(p).isDirectory();
  } catch {
    return false;
  }
}

/** Reads a whole data file; a missing, non-regular or empty file is a UserError that says what was expected. */
export function readDataFile(file: string, expected: string): Buffer {
  let stat: fs.Stats;
  try {
    stat = fs.statSync(file);
  } catch {
    throw new UserError(`${file}: file not found; expected ${expected}`);
  }
  if (!stat.isFile()) throw new UserError(`${file}: not a regular file; expected ${expected}`);
  if (stat.size === 0) throw new UserError(`${file}: empty file; expected ${expected}`);
  try {
    return fs.readFileSync(file);
  } catch (e) {
    throw new UserError(`${file}: cannot be read (${(e as Error).message}); expected ${expected}`);
  }
}

/** True when the bytes start with the gzip magic number 1f 8b. */
export function isGzip(buf: Uint8Array): boolean {
  return buf.length >= 2 && buf[0] === 0x1f && buf[1] === 0x8b;
}

/** Decompresses gzip data (detected by its magic number, not the file name); other bytes are returned as they are. */
export function maybeGunzip(buf: Uint8Array, file: string): Uint8Array {
  if (!isGzip(buf)) return buf;
  try {
    return zlib.gunzipSync(buf, { maxOutputLength: MAX_GUNZIP_BYTES });
  } catch (e) {
    throw new UserError(`${file}: corrupt or truncated gzip data (${(e as Error).message})`);
  }
}

/** Lists a directory's entries, or [] when it does not exist or is not a directory. */
export function listDir(dir: string): string[] {
  try {
    return fs.readdirSync(dir);
  } catch {
    return [];
  }
}

/** Non-empty, trimmed lines of a text file (class-name files); `count` lines are required. */
export function readNameFile(file: string, count: number): string[] {
  const text = readDataFile(file, `${count} class names, one per line`).toString('utf8');
  const names = text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l.length > 0);
  if (names.length !== count) {
    throw new UserError(`${file}: ${names.length} class names; expected ${count}, one per line`);
  }
  return names;
}
