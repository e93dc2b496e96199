// Runs a suite's runs N at a time in child processes: skips completed ones, locks each run folder, never stops on a failure.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import lockfile from 'proper-lockfile';
import { checkpointDir } from '../train/checkpoint.js';
import type { RunSpec } from './plan.js';
import { readSummary } from '../train/summary.js';
import { runState } from './run-state.js';
import type { WorkerRequest } from './worker.js';

/** What happened to one run in this invocation. */
export interface RunOutcome {
  spec: RunSpec;
  /** skipped: already completed; locked: another compare holds it right now; ran: trained here. */
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
  /** Lock staleness: a lock not refreshed for this long belongs to a dead process and may be taken over. */
  staleMs?: number;
  /** When aborted, no further run starts and running ones are told to stop (they checkpoint and can be resumed). */
  signal?: AbortSignal;
}

/** Written into a run folder when its worker ended without recording an error in summary.json. */
export const WORKER_ERROR_FILE = 'worker-error.txt';

const COMPARE_CLI = fileURLToPath(new URL('../cli/compare.ts', import.meta.url));
/** tsx's ESM loader as a file URL (createRequire works whether this module was loaded as ESM or through a CJS hook). */
export const TSX_LOADER = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;

/** The last lines of a log file: the error when a worker died before it could record one. */
function tailOf(file: string, lines = 8): string {
  try {
    return fs.readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}

/** Default launcher: `node --import tsx src/cli/compare.ts --worker`, config on stdin, stdout+stderr into the run's log. */
export const childLauncher: RunLauncher = ({ spec, resume, logFile, signal }) =>
  new Promise((resolve, reject) => {
    const out = fs.openSync(logFile, 'a');
    const child = spawn(process.execPath, ['--import', TSX_LOADER, COMPARE_CLI, '--worker'], {
      stdio: ['pipe', out, out],
      env: process.env,
    });
    fs.closeSync(out);
    const req: WorkerRequest = { config: spec.config, runDir: spec.runDir, resume, configSha256: spec.configSha256 };
    child.stdin?.end(JSON.stringify(req));
    const onAbort = () => child.kill('SIGTERM');
    signal?.addEventListener('abort', onAbort, { once: true });
    child.on('error', reject);
    child.on('close', (code, sig) => {
      signal?.removeEventListener('abort', onAbort);
      resolve({ exitCode: code ?? (sig ? 128 : 1), tail: tailOf(logFile) });
    });
  });

function describe(spec: RunSpec): string {
  return `${spec.variant} seed ${spec.seed}`;
}

/** Locks, (re)trains and reports one run; never throws for a run's own failure. */
async function executeOne(spec: RunSpec, opts: ExecuteOptions, launcher: RunLauncher, tag: string): Promise<RunOutcome> {
  const t0 = Date.now();
  const seconds = () => (Date.now() - t0) / 1000;
  const before = runState(spec);
  if (before.condition === 'completed') return { spec, action: 'skipped', status: 'completed', seconds: 0 };

  fs.mkdirSync(path.dirname(spec.runDir), { recursive: true });
  let release: () => Promise<void>;
  try {
    // The lock is a sibling folder (seed-1.lock), refreshed every stale/3 ms by this (never blocked) process.
    const stale = opts.staleMs ?? 30_000;
    release = await lockfile.lock(spec.runDir, {
      realpath: false, lockfilePath: `${spec.runDir}.lock`, stale, update: Math.floor(stale / 3), retries: 0,
      onCompromised: (e) => opts.warn(`${tag} ${describe(spec)}: lock lost (${e.message}); another compare may train it too`),
    });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ELOCKED') throw e;
    opts.log(`${tag} ${describe(spec)}: being trained by another compare, left to it`);
    return { spec, action: 'locked', status: readSummary(spec.runDir)?.status ?? 'missing', seconds: 0 };
  }
  try {
    // Another compare may have finished it between our first look and the lock.
    const now = runState(spec);
    if (now.condition === 'completed') return { spec, action: 'skipped', status: 'completed', seconds: 0 };
    // Same config, stopped or killed mid-run, with a checkpoint: resume. Otherwise (never started, another config,
    // failed, diverged: rerunning the same steps would fail the same way) start over in an emptied folder.
    // (runTraining resumes only a byte-identical config.yaml: a folder written before a schema change starts over.)
    const resume = now.condition === 'incomplete' && now.exact === true &&
      (now.summary?.status === 'interrupted' || now.summary?.status === 'running') && checkpointDir(spec.runDir) !== undefined;
    if (!resume) {
      fs.rmSync(spec.runDir, { recursive: true, force: true });
      fs.mkdirSync(spec.runDir, { recursive: true });
    } else {
      fs.rmSync(path.join(spec.runDir, WORKER_ERROR_FILE), { force: true });
    }
    const logFile = path.join(spec.runDir, 'train.log');
    opts.log(`${tag} ${describe(spec)}: ${resume ? 'resuming' : 'training'} (log: ${path.relative('.', logFile)})`);
    let result: { exitCode: number; tail: string };
    try {
      result = await launcher({ spec, resume, logFile, ...(opts.signal ? { signal: opts.signal } : {}) });
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
    if (status === 'interrupted') {
      opts.warn(`${tag} ${describe(spec)}: interrupted after ${summary?.epochsRun ?? 0} epochs (checkpoint kept; the next compare resumes it)`);
      return { spec, action: 'ran', status, ...(summary?.stopReason ? { error: summary.stopReason } : {}), seconds: seconds() };
    }
    const error = summary?.error ?? (result.tail.split('\n').filter((l) => l.trim()).at(-1) || `worker exited with code ${result.exitCode}`);
    const shown = status === 'completed' || status === 'running' || status === 'missing' ? 'failed' : status;
    // The worker died without recording why (killed, crashed on start): keep the reason beside its summary.
    if (!summary?.error) fs.writeFileSync(path.join(spec.runDir, WORKER_ERROR_FILE), `${error}\n`);
    opts.warn(`${tag} ${describe(spec)}: ${shown}: ${error}`);
    return { spec, action: 'ran', status: shown, error, seconds: seconds() };
  } finally {
    await release().catch(() => undefined);
  }
}

/** Runs `runs` with at most opts.jobs at once, in order; resolves with one outcome per run started, in run order. */
export async function executeRuns(runs: readonly RunSpec[], opts: ExecuteOptions): Promise<RunOutcome[]> {
  const launcher = opts.launcher ?? childLauncher;
  const outcomes: RunOutcome[] = new Array<RunOutcome>(runs.length);
  let next = 0;
  const worker = async () => {
    while (next < runs.length && !opts.signal?.aborted) {
      const i = next++;
      outcomes[i] = await executeOne(runs[i], opts, launcher, `[${i + 1}/${runs.length}]`);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(opts.jobs, runs.length)) }, worker));
  // Runs never started because compare was stopped have no outcome.
  return outcomes.filter((o) => o !== undefined);
}
