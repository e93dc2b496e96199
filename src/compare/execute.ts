// Runs a suite's runs N at a time in child processes: skips completed ones, locks each run folder, never stops on a
// failure, and waits for the runs another compare is training (taking them over if that compare dies).
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { RunSpec } from './plan.js';
import { runPath } from '../run/files.js';
import { emptyRunDir } from '../run/folder.js';
import { lockHolders, tryLockRun, type RunLock } from '../run/lock.js';
import { readSummary } from '../run/summary.js';
import { clearWorkerError, writeWorkerError } from '../run/worker-error.js';
import { canResume, runState } from './run-state.js';
import type { WorkerRequest } from './worker.js';

/** What happened to one run in this invocation. */
export interface RunOutcome {
  spec: RunSpec;
  /**
   * skipped: completed before this compare looked; locked: trained by another compare (this one waited for it, or was
   * stopped while waiting); ran: trained here.
   */
  action: 'skipped' | 'locked' | 'ran';
  /** summary.json's status afterwards ('missing' when the worker died before writing one). */
  status: string;
  error?: string;
  seconds: number;
}

/** How to start a run: from scratch, or from the checkpoint its folder holds. */
export interface LaunchRequest {
  spec: RunSpec;
  resume: boolean;
  /** stdout and stderr of the run go here (appended). */
  logFile: string;
  /** Aborted when compare itself is asked to stop: the run should checkpoint and end. */
  signal?: AbortSignal;
  /** Called with the pid of the process that trains the run, as soon as it exists (it joins the run's lock). */
  onSpawn?: (pid: number) => void;
  /** Environment of the run's process (default: this process's). */
  env?: NodeJS.ProcessEnv;
}

/** Trains one run into spec.runDir; resolves when it ends (the outcome is in the folder). */
export type RunLauncher = (req: LaunchRequest) => Promise<{ exitCode: number; tail: string }>;

export interface ExecuteOptions {
  /** Runs at once (child processes). */
  jobs: number;
  log: (line: string) => void;
  warn: (line: string) => void;
  /** How a run is trained; default: a child `compare --worker` process. Tests pass a fake. */
  launcher?: RunLauncher;
  /** Lock staleness: another machine's lock not refreshed for this long belongs to a dead process and is taken over. */
  staleMs?: number;
  /** How often to look again at a run another compare holds (ms). */
  pollMs?: number;
  /** When aborted, no further run starts and running ones are told to stop (they checkpoint and can be resumed). */
  signal?: AbortSignal;
}

const COMPARE_CLI = fileURLToPath(new URL('../cli/compare.ts', import.meta.url));
/** tsx's ESM loader as a file URL (createRequire works whether this module was loaded as ESM or through a CJS hook). */
export const TSX_LOADER = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;

/**
 * The environment of a run's process: with more than one run at once, OpenMP threads that spin while idle would take
 * the cores the other runs need, so they sleep at once (OMP_WAIT_POLICY=passive) unless the user chose a policy.
 */
export function waitPolicyFor(jobs: number, env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return jobs > 1 && env.OMP_WAIT_POLICY === undefined ? { ...env, OMP_WAIT_POLICY: 'passive' } : env;
}

/** The last lines of a log file: the error when a worker died before it could record one. */
function tailOf(file: string, lines = 8): string {
  try {
    return fs.readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}

/**
 * Default launcher: `node --import tsx src/cli/compare.ts --worker`, stdout+stderr into the run's log. The request is
 * the first line on the worker's stdin, which then stays open: when this process dies, even by SIGKILL, the worker
 * reads end-of-file and stops with a checkpoint instead of training on beside the compare that reruns the suite.
 */
export const childLauncher: RunLauncher = ({ spec, resume, logFile, signal, onSpawn, env }) =>
  new Promise((resolve, reject) => {
    const out = fs.openSync(logFile, 'a');
    const child = spawn(process.execPath, ['--import', TSX_LOADER, COMPARE_CLI, '--worker'], {
      stdio: ['pipe', out, out],
      env: env ?? process.env,
    });
    fs.closeSync(out);
    if (child.pid !== undefined) onSpawn?.(child.pid);
    const req: WorkerRequest = { config: spec.config, runDir: spec.runDir, resume, configSha256: spec.configSha256 };
    child.stdin?.on('error', () => undefined); // a worker that died at once: its exit code and log tell why
    child.stdin?.write(`${JSON.stringify(req)}\n`);
    const onAbort = () => child.kill('SIGTERM');
    signal?.addEventListener('abort', onAbort, { once: true });
    child.on('error', reject);
    child.on('close', (code, sig) => {
      signal?.removeEventListener('abort', onAbort);
      child.stdin?.destroy();
      resolve({ exitCode: code ?? (sig ? 128 : 1), tail: tailOf(logFile) });
    });
  });

function describe(spec: RunSpec): string {
  return `${spec.variant} seed ${spec.seed}`;
}

/**
 * Locks, (re)trains and reports one run; never throws for a run's own failure. Another compare's run: its lock state.
 * afterOther: another compare held the run until now; a failure of its is reported, not retried at once.
 */
async function executeOne(spec: RunSpec, opts: ExecuteOptions, launcher: RunLauncher, tag: string, afterOther: boolean):
Promise<RunOutcome | 'held' | 'orphaned'> {
  const t0 = Date.now();
  const seconds = () => (Date.now() - t0) / 1000;
  const before = runState(spec);
  if (before.condition === 'completed') return { spec, action: 'skipped', status: 'completed', seconds: 0 };

  fs.mkdirSync(path.dirname(spec.runDir), { recursive: true });
  // The lock is a sibling folder (seed-1.lock) naming this process and, once started, the worker.
  const lock: RunLock | 'held' | 'orphaned' = tryLockRun(spec.runDir, {
    ...(opts.staleMs !== undefined ? { staleMs: opts.staleMs } : {}),
    onCompromised: (why) => opts.warn(`${tag} ${describe(spec)}: lock lost (${why}); another compare may train it too`),
  });
  if (typeof lock === 'string') return lock;
  try {
    // Another compare may have finished it between our first look and the lock.
    const now = runState(spec);
    if (now.condition === 'completed') return { spec, action: 'skipped', status: 'completed', seconds: 0 };
    const theirs = now.condition === 'incomplete' ? now.summary : undefined;
    if (afterOther && theirs && (theirs.status === 'failed' || theirs.status === 'diverged')) {
      return { spec, action: 'locked', status: theirs.status, ...(theirs.error ? { error: theirs.error } : {}), seconds: 0 };
    }
    // Same config, stopped or killed mid-run, with a checkpoint: resume. Otherwise (never started, another config,
    // failed, diverged: rerunning the same steps would fail the same way) start over in an emptied folder.
    // (runTraining resumes only a byte-identical config.yaml: a folder written before a schema change starts over.)
    const resume = canResume(now, spec.runDir);
    if (resume) clearWorkerError(spec.runDir);
    else emptyRunDir(spec.runDir);
    const logFile = runPath(spec.runDir, 'log');
    opts.log(`${tag} ${describe(spec)}: ${resume ? 'resuming' : 'training'} (log: ${path.relative('.', logFile)})`);
    let result: { exitCode: number; tail: string };
    try {
      result = await launcher({
        spec, resume, logFile, onSpawn: (pid) => lock.addProcess(pid), ...(opts.signal ? { signal: opts.signal } : {}),
        env: waitPolicyFor(opts.jobs, process.env),
      });
    } catch (e) {
      result = { exitCode: 1, tail: (e as Error).message };
    }
    const summary = readSummary(spec.runDir);
    const status = summary?.status ?? 'missing';
    if (status === 'completed' && result.exitCode === 0) {
      const err = summary?.test?.final.error;
      opts.log(`${tag} ${describe(spec)}: completed in ${seconds().toFixed(1)} s` + (err !== undefined ? `, last epoch's test error ${(100 * err).toFixed(2)}%` : ''));
      return { spec, action: 'ran', status, seconds: seconds() };
    }
    if (resume && result.exitCode !== 0 && status === 'interrupted') {
      // The resume itself failed (a damaged checkpoint, no room): runTraining left the folder as it found it, so it
      // still reads `interrupted`; say so instead of promising a resume that would fail the same way.
      const error = `could not resume: ${result.tail.split('\n').filter((l) => l.trim()).at(-1) ?? `worker exited with code ${result.exitCode}`}`;
      writeWorkerError(spec.runDir, error);
      opts.warn(`${tag} ${describe(spec)}: failed: ${error} (the run folder is left as it was; delete it to train the run from scratch)`);
      return { spec, action: 'ran', status: 'failed', error, seconds: seconds() };
    }
    if (status === 'interrupted') {
      opts.warn(`${tag} ${describe(spec)}: interrupted after ${summary?.epochsRun ?? 0} epochs (checkpoint kept; the next compare resumes it)`);
      return { spec, action: 'ran', status, ...(summary?.stopReason ? { error: summary.stopReason } : {}), seconds: seconds() };
    }
    const error = summary?.error ?? (result.tail.split('\n').filter((l) => l.trim()).at(-1) || `worker exited with code ${result.exitCode}`);
    const shown = status === 'completed' || status === 'running' || status === 'missing' ? 'failed' : status;
    // The worker died without recording why (killed, crashed on start): keep the reason beside its summary.
    if (!summary?.error) writeWorkerError(spec.runDir, error);
    opts.warn(`${tag} ${describe(spec)}: ${shown}: ${error}`);
    return { spec, action: 'ran', status: shown, error, seconds: seconds() };
  } finally {
    lock.release();
  }
}

/**
 * Runs `runs` with at most opts.jobs at once, in order; resolves with one outcome per run looked at, in run order.
 * Runs another compare holds go to the back of the queue and are looked at again every pollMs until that compare lets
 * go of them (completed: reported as its; died: taken over here), so every compare ends with the whole suite done.
 */
export async function executeRuns(runs: readonly RunSpec[], opts: ExecuteOptions): Promise<RunOutcome[]> {
  const launcher = opts.launcher ?? childLauncher;
  const pollMs = opts.pollMs ?? 1000;
  const outcomes: RunOutcome[] = new Array<RunOutcome>(runs.length);
  const queue = runs.map((_, i) => i);
  /** Runs found held by another compare, with the last state said about them. */
  const waiting = new Map<number, 'held' | 'orphaned'>();
  const worker = async () => {
    for (let i = queue.shift(); i !== undefined && !opts.signal?.aborted; i = queue.shift()) {
      const spec = runs[i]!;
      const tag = `[${i + 1}/${runs.length}]`;
      const o = await executeOne(spec, opts, launcher, tag, waiting.has(i));
      if (typeof o !== 'string') {
        outcomes[i] = waiting.has(i) && o.action === 'skipped' ? { ...o, action: 'locked' } : o;
        continue;
      }
      if (waiting.get(i) !== o) {
        opts.log(o === 'held'
          ? `${tag} ${describe(spec)}: being trained by another compare; waiting for it`
          : `${tag} ${describe(spec)}: its compare died; waiting for its worker (pid ${lockHolders(spec.runDir).slice(1).join(', ')}) to stop`);
      }
      waiting.set(i, o);
      // Stopped while waiting: the run stays the other compare's.
      outcomes[i] = { spec, action: 'locked', status: readSummary(spec.runDir)?.status ?? 'missing', seconds: 0 };
      queue.push(i);
      // Only runs of other compares left: look again later, not in a busy loop.
      if (queue.every((j) => waiting.has(j))) await sleep(pollMs, undefined, { signal: opts.signal }).catch(() => undefined);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(opts.jobs, runs.length)) }, worker));
  // Runs never started because compare was stopped have no outcome.
  return outcomes.filter((o) => o !== undefined);
}
