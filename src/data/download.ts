// Checksum-verified, atomic downloads (temp file + fsync + rename) and tar.gz extraction with node-tar.
import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as https from 'node:https';
import * as path from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import * as tar from 'tar';
import { UserError } from '../errors.js';

/** Seconds without any received byte before a download is abandoned. */
const IDLE_TIMEOUT_MS = 30_000;
const MAX_REDIRECTS = 5;

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

/** GETs a URL, following redirects; resolves with the 200 response. */
function get(url: string, redirects = 0): Promise<http.IncomingMessage> {
  return new Promise((resolve, reject) => {
    const lib = url.startsWith('https:') ? https : url.startsWith('http:') ? http : undefined;
    if (!lib) return reject(new Error(`unsupported URL scheme in ${url}`));
    const req = lib.get(url, (res) => {
      const status = res.statusCode ?? 0;
      if (status >= 300 && status < 400 && res.headers.location) {
        res.resume();
        if (redirects >= MAX_REDIRECTS) return reject(new Error(`too many redirects from ${url}`));
        resolve(get(new URL(res.headers.location, url).toString(), redirects + 1));
        return;
      }
      if (status !== 200) {
        res.resume();
        return reject(new Error(`HTTP ${status} from ${url}`));
      }
      resolve(res);
    });
    req.setTimeout(IDLE_TIMEOUT_MS, () => req.destroy(new Error(`no data for ${IDLE_TIMEOUT_MS / 1000} s from ${url}`)));
    req.on('error', reject);
  });
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
): Promise<void> {
  const tmp = tempName(dest);
  log(`downloading ${url} -> ${dest}`);
  try {
    const res = await get(url);
    const expectedLength = Number(res.headers['content-length'] ?? NaN);
    const hash = createHash('md5');
    let received = 0;
    const tap = new Transform({
      transform(chunk: Buffer, _enc, done) {
        hash.update(chunk);
        received += chunk.length;
        done(null, chunk);
      },
    });
    res.setTimeout(IDLE_TIMEOUT_MS, () => res.destroy(new Error(`no data for ${IDLE_TIMEOUT_MS / 1000} s`)));
    // 'aborted' covers a server that closes the connection mid-body on older Node versions.
    res.on('aborted', () => res.destroy(new Error('connection closed before the end of the file')));
    // Create the file before streaming: a write stream opens lazily, so after an early failure its open could land
    // after the cleanup below and leave a stray partial file.
    const out = await fs.promises.open(tmp, 'wx');
    await pipeline(res, tap, out.createWriteStream());
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
