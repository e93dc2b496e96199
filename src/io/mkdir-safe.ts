// mkdir -p that always ends: Node 20's recursive mkdirSync spins forever where a filesystem answers mkdir with ENOENT (/proc).
import fs from 'node:fs';
import path from 'node:path';

const code = (e: unknown): string | undefined => (e as NodeJS.ErrnoException | undefined)?.code;

/**
 * Creates `dir` and its missing parents one level at a time, like `mkdirSync(dir, { recursive: true })`, but each
 * mkdir is tried once: under /proc it fails with ENOENT even though the parent exists, which Node 20's recursive
 * mkdir retries without end at 100% CPU. Throws the failing call's own error (with its `code`: ENOENT, ENOTDIR when a
 * part of the path is a file, EACCES, EROFS, ...). An existing folder is fine.
 */
export function mkdirSafe(dir: string): void {
  const missing: string[] = [];
  for (let p = path.resolve(dir); ; p = path.dirname(p)) {
    let st: fs.Stats;
    try {
      st = fs.statSync(p);
    } catch (e) {
      if (code(e) !== 'ENOENT' || path.dirname(p) === p) throw e;
      missing.push(p);
      continue;
    }
    if (!st.isDirectory()) {
      throw Object.assign(new Error(`ENOTDIR: not a directory, mkdir '${p}'`), { code: 'ENOTDIR', path: p, syscall: 'mkdir' });
    }
    break;
  }
  for (const p of missing.reverse()) {
    try {
      fs.mkdirSync(p);
    } catch (e) {
      // Another process may have created it since the stat.
      if (code(e) === 'EEXIST' && fs.statSync(p).isDirectory()) continue;
      throw e;
    }
  }
}
