// Orchestrates `npm run bench`: one child process per (batch, head, backend), the PyTorch peers beside each, a report.
import { fork } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { nativeAvailable } from '../backend/select.js';
import { buildCeilingProgram, formatCeiling, measureCeiling, type Ceiling, type EngineRates } from './ceiling.js';
import { formatProfile } from './profile.js';
import { peerOptimizer } from './config.js';
import { formatEngines, formatTable, writeResults } from './report.js';
import { formatPaired, measureRounds, pairedCsv, pairRounds } from './rounds.js';
import { runTorch } from './torch.js';
import { median } from '../util/stats.js';
import type { Precision } from '../backend/precision.js';
import type { BenchHead, BenchJob, BenchResult, BenchRow, PeerKind } from './types.js';

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
  /** Times each group (our jobs and the peers) is measured, alternating the order (src/bench/rounds.ts); default 1. */
  rounds?: number;
  /** Also time NIN's convolutions in oneDNN alone per precision and batch (src/bench/ceiling.ts). */
  ceiling?: boolean;
}

/** Median of the values present (undefined when none is). */
function medianOf(values: Array<number | undefined>): number | undefined {
  const v = values.filter((x): x is number => x !== undefined);
  return v.length ? median(v) : undefined;
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
  const rounds = o.rounds ?? 1;
  for (const batch of o.batches) {
    for (const head of o.heads) {
      const jobs: BenchJob[] = backends.flatMap((backend) => o.precisions.map((precision) => {
        const cpu = backend === 'cpu';
        return {
          backend, head, batch, threads: o.threads, seed: o.seed, ...(precision === 'fp32' ? {} : { precision }),
          steps: cpu ? o.cpuSteps : o.steps, warmup: cpu ? 0 : o.warmup, profile: o.profile && !cpu,
        };
      }));
      if (jobs.length === 0) continue;
      const t = { python: o.python, script: o.torchScript, head, batch, steps: o.steps, warmup: o.warmup, threads: o.threads, ...peerOptimizer(head) };
      const group = await measureRounds(jobs, o.peers, rounds, {
        ours: async (job) => {
          const result = await runJob(job);
          if (result.profile) log(formatProfile(result.profile));
          return result;
        },
        peer: (kind) => runTorch(t, kind),
        log,
      });
      rows.push(...group);
      // The oneDNN-alone reference, last: our step and the peer of the same precision (medians over the rounds) as
      // shares of it.
      for (const precision of ceilingBin ? o.precisions : []) {
        try {
          const ceiling = measureCeiling(ceilingBin!, precision, batch, o.threads || cpus().length, head);
          const mine = group.filter((r) => (r.job.precision ?? 'fp32') === precision);
          const engines: EngineRates[] = [
            ...[...new Set(mine.map((r) => r.job.backend))].map((backend) => {
              const runs = mine.filter((r) => r.job.backend === backend);
              return { name: `${backend}${precision === 'fp32' ? '' : ` ${precision}`}`,
                train: medianOf(runs.map((r) => r.result?.trainImagesPerS)), infer: medianOf(runs.map((r) => r.result?.inferImagesPerS)) };
            }),
            ...o.peers.filter((k) => (k === 'tuned-bf16') === (precision === 'bf16') && k !== 'plain').map((k) => {
              // One result per round: every row of a round carries that round's peers.
              const runs = Array.from({ length: rounds }, (_, r) => group.find((x) => (x.round ?? 0) === r)?.peers.find((p) => p.kind === k)?.result);
              return { name: `pytorch ${k}`, train: medianOf(runs.map((t) => t?.train_images_per_s)), infer: medianOf(runs.map((t) => t?.infer_images_per_s)) };
            }),
          ];
          ceilings.push({ head, ceiling, engines });
        } catch (e) {
          log(`--ceiling ${precision} batch ${batch}: ${e instanceof Error ? e.message : String(e)}`);
        }
      }
    }
  }
  log('');
  const paired = rounds > 1 && o.peers.length ? pairRounds(rows) : undefined;
  if (rounds > 1) {
    for (let r = 0; r < rounds; r++) log(`round ${r + 1} of ${rounds} (${r % 2 ? 'peers first' : 'ours first'}):\n${formatTable(rows.filter((x) => x.round === r))}\n`);
    if (paired) log(`${formatPaired(paired)}\n`);
  } else {
    log(formatTable(rows));
  }
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
    ...(paired ? { paired } : {}),
  });
  log(`\nwrote ${files.json} and ${files.csv}`);
  if (paired) {
    const csv = join(o.outDir, `bench-${stamp}-paired.csv`);
    writeFileSync(csv, pairedCsv(paired));
    log(`wrote ${csv}`);
  }
  return rows;
}
