// Orchestrates `npm run bench`: one child process per (batch, head, backend), the PyTorch peers beside each, a report.
import { fork } from 'node:child_process';
import { createRequire } from 'node:module';
import { cpus, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';

import { nativeAvailable } from '../backend/select.js';
import { buildCeilingProgram, formatCeiling, measureCeiling, type Ceiling, type EngineRates } from './ceiling.js';
import { formatProfile } from './profile.js';
import { peerOptimizer } from './config.js';
import { formatEngines, formatTable, writeResults } from './report.js';
import { runTorch } from './torch.js';
import type { Precision } from '../backend/precision.js';
import type { BenchHead, BenchJob, BenchResult, BenchRow, PeerKind, PeerRow } from './types.js';

export interface BenchOptions {
  /** Backends to measure; undefined = every fast one available (native, tensorflow). */
  backends?: BenchJob['backend'][];
  /** Precisions of our step, each measured per backend (bf16: the native backend on a CPU with bf16). */
  precisions: Precision[];
  heads: BenchHead[];
  batches: number[];
  steps: number;
  warmup: number;
  /** Timed steps on the pure-JS cpu backend (about 30 minutes each for NIN at batch 64). */
  cpuSteps: number;
  threads: number;
  seed: number;
  /** PyTorch peers to run beside each job (none: no comparison). */
  peers: PeerKind[];
  python: string;
  torchScript: string;
  outDir: string;
  /** Profile one training step per kernel and print it. */
  profile: boolean;
  /** Also time NIN's convolutions in oneDNN alone per precision and batch (src/bench/ceiling.ts). */
  ceiling?: boolean;
}

/** tfjs-node(-gpu) is an optional dependency: measure 'tensorflow' only where one resolves. */
function tensorflowInstalled(): boolean {
  const require = createRequire(import.meta.url);
  for (const pkg of ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node']) {
    try {
      require.resolve(pkg);
      return true;
    } catch {
      // not installed
    }
  }
  return false;
}

export function defaultBackends(): BenchJob['backend'][] {
  const list: BenchJob['backend'][] = [];
  if (nativeAvailable()) list.push('native');
  if (tensorflowInstalled()) list.push('tensorflow');
  return list;
}

/** Runs one job in a fresh Node process (its own peak RSS, no state shared with other backends). */
function runJob(job: BenchJob): Promise<BenchResult> {
  const worker = fileURLToPath(new URL('../cli/bench-worker.ts', import.meta.url));
  return new Promise((resolve, reject) => {
    const child = fork(worker, [JSON.stringify(job)], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'ignore', 'pipe', 'ipc'] });
    let result: BenchResult | undefined, failure: string | undefined, stderr = '';
    child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('message', (m: { result?: BenchResult; error?: string }) => {
      result = m.result;
      failure = m.error;
    });
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      if (result) resolve(result);
      else reject(new Error(failure ?? `worker exited ${signal ?? code}: ${stderr.trim().split('\n').slice(-3).join(' | ')}`));
    });
  });
}

/** Runs every job, prints the table through `log`, writes the JSON/CSV files; returns the rows. */
export async function runBench(o: BenchOptions, log: (line: string) => void): Promise<BenchRow[]> {
  const backends = o.backends ?? defaultBackends();
  if (backends.length === 0) log('no fast backend available (build the native addon: npm run build:native); nothing to measure');
  const rows: BenchRow[] = [];
  const ceilings: Array<{ head: BenchHead; ceiling: Ceiling; engines: EngineRates[] }> = [];
  let ceilingBin: string | undefined;
  if (o.ceiling) {
    try {
      ceilingBin = buildCeilingProgram();
    } catch (e) {
      log(`--ceiling: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
  const load = loadavg()[0]!;
  if (load > 0.5) log(`note: load average ${load.toFixed(2)} before start: other processes will slow every engine measured`);
  for (const batch of o.batches) {
    for (const head of o.heads) {
      const group: BenchRow[] = [];
      for (const backend of backends) {
        for (const precision of o.precisions) {
          const cpu = backend === 'cpu';
          const job: BenchJob = {
            backend, head, batch, threads: o.threads, seed: o.seed, ...(precision === 'fp32' ? {} : { precision }),
            steps: cpu ? o.cpuSteps : o.steps, warmup: cpu ? 0 : o.warmup, profile: o.profile && !cpu,
          };
          log(`measuring ${backend}${precision === 'fp32' ? '' : ` ${precision}`} ${head} batch ${batch} (${job.warmup} warm-up + ${job.steps} steps)...`);
          const row: BenchRow = { job, peers: [] };
          try {
            row.result = await runJob(job);
            if (row.result.profile) log(formatProfile(row.result.profile));
          } catch (e) {
            row.error = e instanceof Error ? e.message : String(e);
          }
          group.push(row);
        }
      }
      if (group.length === 0) continue;
      // The peers run once per head and batch, right after our jobs, and are compared with each of them.
      const peers: PeerRow[] = [];
      for (const kind of o.peers) {
        const t = { python: o.python, script: o.torchScript, head, batch, steps: o.steps, warmup: o.warmup, threads: o.threads, ...peerOptimizer(head) };
        try {
          peers.push({ kind, result: await runTorch(t, kind) });
        } catch (e) {
          peers.push({ kind, error: e instanceof Error ? e.message : String(e) });
        }
      }
      for (const row of group) rows.push({ ...row, peers });
      // The oneDNN-alone reference, last: our step and the peer of the same precision as shares of it.
      for (const precision of ceilingBin ? o.precisions : []) {
        try {
          const ceiling = measureCeiling(ceilingBin!, precision, batch, o.threads || cpus().length, head);
          const engines: EngineRates[] = [
            ...group.filter((r) => (r.job.precision ?? 'fp32') === precision).map((r) => ({
              name: `${r.job.backend}${precision === 'fp32' ? '' : ` ${precision}`}`,
              train: r.result?.trainImagesPerS, infer: r.result?.inferImagesPerS })),
            ...peers.filter((p) => (p.kind === 'tuned-bf16') === (precision === 'bf16') && p.kind !== 'plain').map((p) => ({
              name: `pytorch ${p.kind}`, train: p.result?.train_images_per_s, infer: p.result?.infer_images_per_s })),
          ];
          ceilings.push({ head, ceiling, engines });
        } catch (e) {
          log(`--ceiling ${precision} batch ${batch}: ${e instanceof Error ? e.message : String(e)}`);
        }
      }
    }
  }
  log('');
  log(formatTable(rows));
  log(formatEngines(rows));
  for (const c of ceilings) log(formatCeiling(c.ceiling, c.head, c.engines));
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const files = writeResults(o.outDir, stamp, rows, {
    date: new Date().toISOString(),
    node: process.version,
    cpu: cpus()[0]?.model ?? 'unknown',
    cores: cpus().length,
    loadAverageAtStart: load,
    options: o,
    ...(ceilings.length ? { ceilings: ceilings.map((c) => c.ceiling) } : {}),
  });
  log(`\nwrote ${files.json} and ${files.csv}`);
  return rows;
}
