// File writes that never leave half a file: whole-buffer writes, fsync before rename, disk full as one clear line.
//
// Not write-file-atomic: it issues a single write() and ignores a short count, and a nearly full disk (tmpfs, ext4)
// makes write() short rather than fail, so it renames a truncated file into place and reports success.
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { UserError } from '../errors.js';

/** Errno codes that mean "no room", with the words shown to the user. */
const NO_ROOM: Record<string, string> = { ENOSPC: 'disk full', EDQUOT: 'disk quota exceeded' };

/**
 * The error to report for a failed write of `file`: no room becomes a one-line UserError (exit code 1: a run failed,
 * not bad input), naming the file; anything else is returned unchanged.
 */
export function writeError(e: unknown, file: string): unknown {
  const code = (e as NodeJS.ErrnoException | undefined)?.code;
  return code && code in NO_ROOM ? new UserError(`${NO_ROOM[code]} (${code}) writing ${file}`, 1) : e;
}

/** Writes all of `data` and fsyncs; fs.writeFileSync on a descriptor loops over short writes, so no room ends in ENOSPC. */
function writeAll(file: string, data: string | Uint8Array): void {
  const fd = fs.openSync(file, 'w');
  try {
    fs.writeFileSync(fd, data);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * Writes `file` in full and fsyncs it, without a temporary name: for files inside a folder that is itself renamed into
 * place once complete (a checkpoint).
 */
export function writeFileSynced(file: string, data: string | Uint8Array): void {
  try {
    writeAll(file, data);
  } catch (e) {
    throw writeError(e, file);
  }
}

let tmpCounter = 0;

/**
 * Replaces `file` atomically: written in full and fsynced under a temporary name in the same folder, then renamed.
 * On failure the temporary file is removed and `file` keeps its previous content.
 */
export function writeFileAtomic(file: string, data: string | Uint8Array): void {
  // pid, counter and random bytes: unique among processes and machines sharing a folder (a suite on NFS).
  const tmp = path.join(path.dirname(file), `${path.basename(file)}.${process.pid}-${++tmpCounter}-${randomBytes(3).toString('hex')}.tmp`);
  try {
    writeAll(tmp, data);
    fs.renameSync(tmp, file);
  } catch (e) {
    fs.rmSync(tmp, { force: true });
    throw writeError(e, file);
  }
}

/** Replaces `file` with `value` as JSON (2-space indent, final newline), atomically. */
export async function writeJson(file: string, value: unknown): Promise<void> {
  writeFileAtomic(file, JSON.stringify(value, null, 2) + '\n');
}

/** Makes a folder's entries (new names, renames) durable. */
export function fsyncDir(dir: string): void {
  const fd = fs.openSync(dir, 'r');
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}
