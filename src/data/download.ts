// Checksum-verified, atomic downloads (temp file + fsync + rename; proxy-aware, with progress) and tar.gz extraction.
import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import * as tar from 'tar';
import { UserError } from '../errors.js';
import { downloadProgress } from './download-progress.js';
import { httpGet } from './http.js';

/** MD5 of a file, hex, read as a stream. */
export async function md5File(file: string): Promise<string> {
  const hash = createHash('md5');
  await pipeline(fs.createReadStream(file), hash);
  return hash.digest('hex');
}

/** A unique temporary name beside `dest`: never one of the names a loader looks for. */
function tempName(dest: string): string {
  return `${dest}.part-${process.pid}-${randomBytes(4).toString('hex')}`;
}

/**
 * Downloads `url` to `dest`: the bytes go to a temporary file, are hashed on the way, fsynced, checked against
 * `md5` (and Content-Length) and only then renamed to `dest`, so a partial or corrupt download never sits at `dest`.
 * Failures are UserErrors; `hint` (what to do instead, e.g. where to place the files by hand) is appended.
 */
export async function downloadFile(
  url: string,
  dest: string,
  md5: string,
  hint: string,
  log: (line: string) => void = () => {},
  /** Draw a live progress bar on stderr (default: when it is a terminal); otherwise a log line every 10%. */
  live = process.stderr.isTTY === true,
): Promise<void> {
  const tmp = tempName(dest);
  log(`downloading ${url} -> ${dest}`);
  try {
    const res = await httpGet(url);
    const expectedLength = res.length ?? NaN;
    const hash = createHash('md5');
    let received = 0;
    const progress = downloadProgress(path.basename(dest), res.length, log, live);
    const tap = new Transform({
      transform(chunk: Buffer, _enc, done) {
        hash.update(chunk);
        received += chunk.length;
        progress.update(received);
        done(null, chunk);
      },
    });
    // Create the file before streaming: a write stream opens lazily, so after an early failure its open could land
    // after the cleanup below and leave a stray partial file.
    const out = await fs.promises.open(tmp, 'wx');
    try {
      await pipeline(res.body, tap, out.createWriteStream());
    } finally {
      progress.stop();
    }
    if (Number.isFinite(expectedLength) && received !== expectedLength) {
      throw new Error(`received ${received} of ${expectedLength} bytes`);
    }
    const fh = await fs.promises.open(tmp, 'r+');
    await fh.sync();
    await fh.close();
    const got = hash.digest('hex');
    if (got !== md5) {
      throw new UserError(`download of ${url} has md5 ${got}; expected ${md5} (file discarded). ${hint}`);
    }
    await fs.promises.rename(tmp, dest);
    log(`downloaded ${received} bytes, md5 verified`);
  } catch (e) {
    await fs.promises.rm(tmp, { force: true });
    if (e instanceof UserError) throw e;
    throw new UserError(`could not download ${url} (${(e as Error).message}). ${hint}`);
  }
}

/** Verifies a file that is already present (e.g. an archive the user placed by hand); a mismatch is a UserError. */
export async function verifyFile(file: string, md5: string, hint: string): Promise<void> {
  const got = await md5File(file);
  if (got !== md5) {
    throw new UserError(`${file}: md5 ${got}; expected ${md5} (incomplete or a different file; delete it). ${hint}`);
  }
}

/**
 * Extracts a .tar.gz into `destDir` without ever leaving a half-extracted file under a final name: everything is
 * unpacked into a temporary folder inside `destDir`, then each regular file is renamed into place.
 * node-tar refuses absolute paths and '..' entries.
 */
export async function extractTarGz(archive: string, destDir: string): Promise<void> {
  const tmp = await fs.promises.mkdtemp(path.join(destDir, '.extract-'));
  try {
    try {
      await tar.x({ file: archive, cwd: tmp, strict: true });
    } catch (e) {
      throw new UserError(`${archive}: cannot be extracted (${(e as Error).message}); expected a .tar.gz archive`);
    }
    await moveTree(tmp, destDir);
  } finally {
    await fs.promises.rm(tmp, { recursive: true, force: true });
  }
}

/** Moves the regular files of `from` into the same relative places under `to`, creating folders as needed. */
async function moveTree(from: string, to: string): Promise<void> {
  for (const entry of await fs.promises.readdir(from, { withFileTypes: true })) {
    const src = path.join(from, entry.name);
    const dst = path.join(to, entry.name);
    if (entry.isDirectory()) {
      await fs.promises.mkdir(dst, { recursive: true });
      await moveTree(src, dst);
    } else if (entry.isFile()) {
      await fs.promises.rename(src, dst);
    }
  }
}

/** Creates a folder (and parents); failure is a UserError naming it. */
export function ensureDir(dir: string, what: string): void {
  try {
    fs.mkdirSync(dir, { recursive: true });
  } catch (e) {
    throw new UserError(`${dir}: cannot create the ${what} folder (${(e as Error).message})`);
  }
}
