// The child-process side of a suite run: reads {config, runDir, resume} as a JSON line on stdin and trains that one run.
import { setImmediate as yieldToEvents } from 'node:timers/promises';
import { validateConfig } from '../config/load.js';
import { UserError } from '../errors.js';
import { configSha256 } from '../run/config.js';
import { runTraining } from '../train/run.js';
import { interruptOnSignals } from '../util/signals.js';

/** What the parent writes to a worker's stdin. */
export interface WorkerRequest {
  config: unknown;
  runDir: string;
  /** Continue from the folder's checkpoint instead of starting over. */
  resume: boolean;
  /** sha256 of the config.yaml the parent expects: the worker refuses to train anything else. */
  configSha256: string;
}

/**
 * The request (stdin's first line), and a promise that resolves when stdin ends after it: the parent keeps its end open
 * while it lives, so that end means the compare that started this worker is gone (exited, crashed, killed). A request
 * without a newline, ended by end-of-file, comes from a compare started before this protocol (still running a suite
 * while the code was updated): there the end says nothing about the parent, and parentGone never resolves.
 */
function readRequest(): Promise<{ line: string; parentGone: Promise<void> }> {
  return new Promise((resolve, reject) => {
    let text = '';
    let lineDone = false;
    let resolveGone: () => void = () => undefined;
    const parentGone = new Promise<void>((r) => (resolveGone = r));
    process.stdin.setEncoding('utf8');
    process.stdin.on('data', (chunk: string) => {
      if (lineDone) return; // the request is in; later input means nothing
      text += chunk;
      const nl = text.indexOf('\n');
      if (nl < 0) return;
      lineDone = true;
      resolve({ line: text.slice(0, nl), parentGone });
    });
    process.stdin.on('end', () => {
      if (lineDone) resolveGone();
      else resolve({ line: text, parentGone: new Promise<void>(() => undefined) });
    });
    process.stdin.on('error', reject);
  });
}

/**
 * Trains the run the parent asked for; the run folder's summary.json carries the outcome. SIGTERM/SIGINT (a scheduler
 * preempting the job, Ctrl-C) and the parent's death stop it after the current batch with a checkpoint, so the next
 * compare resumes it.
 * Returns the exit code: 0 completed, 1 otherwise; errors propagate to the CLI's handler, which prints them to the log.
 */
export async function runWorker(log: (l: string) => void, warn: (l: string) => void): Promise<number> {
  const { line, parentGone } = await readRequest();
  const req = JSON.parse(line) as WorkerRequest;
  const config = validateConfig(req.config as Record<string, unknown>, `worker request for ${req.runDir}`);
  // The code (schema defaults) may have changed since the parent planned the suite: such a run would land in a folder
  // named after another config, so refuse it and let the next compare plan again.
  if (configSha256(config) !== req.configSha256) {
    throw new UserError('the config schema changed while this suite was running; run compare again to plan with the new code');
  }
  const stopping = (why: string) => `${why}: stopping after this batch (checkpoint kept; the next compare resumes)`;
  // Ctrl-C reaches the worker directly and through the parent: it stops once, and later signals are the parent's call.
  const abort = interruptOnSignals({ first: stopping, warn });
  // A compare killed outright (SIGKILL, out of memory) sends no signal: its lock would soon let another compare resume
  // this run, so stop as if told to, rather than train the same folder twice.
  void parentGone.then(() => {
    if (abort.signal.aborted) return;
    warn(stopping('compare (the parent process) is gone'));
    abort.abort();
  });
  // Signals and the end of stdin are events: let them in after every batch, not only when an epoch's files are written.
  const yieldEachBatch = { onBatchEnd: () => yieldToEvents() };
  const summary = await runTraining(config, {
    log, warn, runDir: req.runDir, live: false, resume: req.resume, signal: abort.signal, callbacks: [yieldEachBatch],
  });
  return summary.status === 'completed' ? 0 : 1;
}
