// Shared types of the throughput benchmark: one job per (backend, head, batch), its result, the PyTorch peer's result.
import type { Precision } from '../backend/precision.js';
import type { BackendName } from '../config/schema.js';
import type { Spread } from '../util/stats.js';

export const BENCH_HEADS = ['gap', 'fc-dropout'] as const;
export type BenchHead = (typeof BENCH_HEADS)[number];

/** One measurement, run in its own process so that peak RSS and warm caches are its own. */
export interface BenchJob {
  backend: Exclude<BackendName, 'auto'>;
  head: BenchHead;
  batch: number;
  /** Timed steps (the median is reported). */
  steps: number;
  /** Untimed steps first: oneDNN JIT, layout tuning, buffer pool fill. */
  warmup: number;
  /** Threads for the native backend (0 = one per core). */
  threads: number;
  /** train.precision of the measured step (absent: fp32); bf16 on a backend or CPU without it fails the job. */
  precision?: Precision;
  seed: number;
  /** Also profile one training step per kernel (tf.profile). */
  profile?: boolean;
}

/** One kernel's share of a profiled training step. */
export interface KernelTime {
  kernel: string;
  ms: number;
  calls: number;
  /** Share of the step's summed kernel time. */
  share: number;
  /** Ran in the addon (false: tfjs's JavaScript kernel). */
  native: boolean;
}

export interface StepProfile {
  stepMs: number;
  kernelMs: number;
  kernels: KernelTime[];
}

export interface BenchResult {
  job: BenchJob;
  /** Backend actually used and its detail line (e.g. "oneDNN 2.6.3, 2 threads, avx512_core_bf16"). */
  backend: string;
  detail: string;
  params: number;
  /** Training images per second of the step `npm run train` runs (src/train/step.ts: forward, backward, the config's
   * optimizer with weight decay, loss and accuracy read back); batch / median step time. */
  trainImagesPerS: number;
  inferImagesPerS: number;
  /** Images per CPU-second of this process (all threads): unlike wall time, hardly moved by other load. */
  trainImagesPerCpuS: number;
  inferImagesPerCpuS: number;
  trainStepMs: Spread;
  inferMs: Spread;
  /** Peak resident set of the measuring process (a fresh Node process per job), MiB. */
  peakRssMiB: number;
  profile?: StepProfile;
}

/** How the PyTorch peer runs: tuned as its CPU guide says (allocator preloaded), as installed, or tuned in bf16 autocast. */
export const PEER_KINDS = ['tuned', 'plain', 'tuned-bf16'] as const;
export type PeerKind = (typeof PEER_KINDS)[number];

/** The JSON line of bench/pytorch/nin.py, with the kind of run added. */
export interface TorchResult {
  kind: PeerKind;
  engine: string;
  head: string;
  batch: number;
  threads: number;
  params: number;
  precision: 'fp32' | 'bf16';
  channels_last: boolean;
  /** 'tcmalloc', 'jemalloc' or 'glibc malloc'. */
  allocator: string;
  /** oneDNN's ISA line, e.g. "Intel AVX-512 with Intel DL Boost and bfloat16 support" ('' if it printed none). */
  isa: string;
  train_images_per_s: number;
  infer_images_per_s: number;
  /** Step and inference times in ms (median, min, max; absent from older peer scripts). */
  train_step_ms?: Spread;
  infer_ms?: Spread;
  peak_rss_mib: number;
}

/** One peer run beside a job: its result or why there is none. */
export interface PeerRow {
  kind: PeerKind;
  result?: TorchResult;
  error?: string;
}

/** A row of the report: our result, or why the job failed, and the peers measured beside it. */
export interface BenchRow {
  job: BenchJob;
  result?: BenchResult;
  error?: string;
  peers: PeerRow[];
  /** Which round of `--rounds` (0-based) measured this row and its peers; absent for a single round. */
  round?: number;
}
