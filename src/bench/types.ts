// Shared types of the throughput benchmark: one job per (backend, head, batch), its result, the PyTorch peer's result.
import type { BackendName } from '../config/schema.js';

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
  /** Backend actually used and its detail line (e.g. "oneDNN 2.6.3, 2 threads"). */
  backend: string;
  detail: string;
  params: number;
  /** Training images per second: forward, backward and SGD-momentum update; batch / median step time. */
  trainImagesPerS: number;
  inferImagesPerS: number;
  /** Images per CPU-second of this process (all threads): unlike wall time, hardly moved by other load. */
  trainImagesPerCpuS: number;
  inferImagesPerCpuS: number;
  trainStepMs: { median: number; min: number; max: number };
  inferMs: { median: number; min: number; max: number };
  /** Peak resident set of the measuring process, MiB. */
  peakRssMiB: number;
  profile?: StepProfile;
}

export interface TorchResult {
  engine: string;
  head: string;
  batch: number;
  threads: number;
  params: number;
  train_images_per_s: number;
  infer_images_per_s: number;
}

/** A row of the report: our result, or why the job failed, and the peer measured beside it. */
export interface BenchRow {
  job: BenchJob;
  result?: BenchResult;
  error?: string;
  torch?: TorchResult;
  torchError?: string;
}
