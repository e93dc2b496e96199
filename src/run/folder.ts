// Run folders: a fresh, writable experiments/<experiment>/<run-id>/ per run.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { UserError } from '../errors.js';
import { mkdirSafe } from '../io/mkdir-safe.js';

/** Sortable, collision-safe run id: 20261128-041503-s1-a3f9. */
export function newRunId(seed: number, now = new Date()): string {
  const p = (n: number) => String(n).padStart(2, '0');
  const stamp = `${now.getUTCFullYear()}${p(now.getUTCMonth() + 1)}${p(now.getUTCDate())}-${p(now.getUTCHours())}${p(now.getUTCMinutes())}${p(now.getUTCSeconds())}`;
  return `${stamp}-s${seed}-${crypto.randomBytes(2).toString('hex')}`;
}

/** Fails early (before any training) when a folder cannot be written. */
export function assertWritable(dir: string): void {
  const probe = path.join(dir, `.write-test-${process.pid}`);
  try {
    mkdirSafe(dir);
    fs.writeFileSync(probe, 'ok');
    fs.unlinkSync(probe);
  } catch (e) {
    throw new UserError(`output folder ${dir} is not writable (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
}

/**
 * Creates `<outputDir>/<experiment>/<run-id>` and returns it. mkdir of the last component is exclusive, so two runs
 * started at the same moment never share a folder.
 */
export function createRunDir(outputDir: string, experiment: string, seed: number): string {
  const parent = path.resolve(outputDir, experiment);
  assertWritable(parent);
  for (let attempt = 0; attempt < 20; attempt++) {
    const dir = path.join(parent, newRunId(seed));
    try {
      fs.mkdirSync(dir);
      return dir;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
  }
  throw new UserError(`could not create a unique run folder under ${parent}`);
}

/** Empties `runDir` (a run starting over: nothing of the previous attempt may be mistaken for its output). */
export function emptyRunDir(runDir: string): void {
  fs.rmSync(runDir, { recursive: true, force: true });
  fs.mkdirSync(runDir, { recursive: true });
}
