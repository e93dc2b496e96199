// The child-process side of a suite run: reads {config, runDir, resume} as JSON on stdin and trains that one run.
import crypto from 'node:crypto';
import { configToYaml, validateConfig } from '../config/load.js';
import { UserError } from '../errors.js';
import { runTraining } from '../train/run.js';

/** What the parent writes to a worker's stdin. */
export interface WorkerRequest {
  config: unknown;
  runDir: string;
  /** Continue from the folder's checkpoint instead of starting over. */
  resume: boolean;
  /** sha256 of the config.yaml the parent expects: the worker refuses to train anything else. */
  configSha256: string;
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * Trains the run the parent asked for; the run folder's summary.json carries the outcome. SIGTERM/SIGINT (a scheduler
 * preempting the job, Ctrl-C) stop it after the current batch with a checkpoint, so the next compare resumes it.
 * Returns the exit code: 0 completed, 1 otherwise; errors propagate to the CLI's handler, which prints them to the log.
 */
export async function runWorker(log: (l: string) => void, warn: (l: string) => void): Promise<number> {
  const req = JSON.parse(await readStdin()) as WorkerRequest;
  const config = validateConfig(req.config as Record<string, unknown>, `worker request for ${req.runDir}`);
  // The code (schema defaults) may have changed since the parent planned the suite: such a run would land in a folder
  // named after another config, so refuse it and let the next compare plan again.
  if (crypto.createHash('sha256').update(configToYaml(config)).digest('hex') !== req.configSha256) {
    throw new UserError('the config schema changed while this suite was running; run compare again to plan with the new code');
  }
  const abort = new AbortController();
  const stop = (sig: string) => {
    if (abort.signal.aborted) return; // Ctrl-C reaches the worker directly and through the parent: stop once
    warn(`${sig}: stopping after this batch (checkpoint kept; the next compare resumes)`);
    abort.abort();
  };
  // Persistent listeners, not once(): signal-exit (used by write-file-atomic) re-raises a signal that has no other
  // listener left, which would kill the worker before it writes its checkpoint.
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  const summary = await runTraining(config, { log, warn, runDir: req.runDir, live: false, resume: req.resume, signal: abort.signal });
  return summary.status === 'completed' ? 0 : 1;
}
