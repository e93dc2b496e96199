// worker-error.txt: why a compare worker ended when summary.json could not say (it died first, or its resume failed).
import fs from 'node:fs';
import { runPath } from './files.js';

/** Records `error` (one line) in the run folder. */
export function writeWorkerError(runDir: string, error: string): void {
  fs.writeFileSync(runPath(runDir, 'workerError'), `${error}\n`);
}

/** The recorded error, trimmed, or undefined when there is none. */
export function readWorkerError(runDir: string): string | undefined {
  try {
    return fs.readFileSync(runPath(runDir, 'workerError'), 'utf8').trim();
  } catch {
    return undefined;
  }
}

/** Forgets a recorded error (a run about to be resumed). */
export function clearWorkerError(runDir: string): void {
  fs.rmSync(runPath(runDir, 'workerError'), { force: true });
}
