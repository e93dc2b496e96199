// Collects a suite's run folders into one record per run, and per-variant and per-head-pair statistics over seeds.
import path from 'node:path';
import { runLockState } from '../run/lock.js';
import { readMetrics, type EpochLogs } from '../run/metrics.js';
import { readWorkerError } from '../run/worker-error.js';
import { pairStats, type PairStats } from './pairs.js';
import type { Plan, RunSpec, Variant } from './plan.js';
import { runState } from './run-state.js';
import { mean, std } from '../util/stats.js';

/** One row of runs.csv. Numbers are NaN when the run did not get that far. */
export interface RunRecord {
  variant: string;
  body: string;
  head: string;
  seed: number;
  /** completed, failed, diverged, interrupted, running (elsewhere), missing (never started), stale (config changed). */
  status: string;
  error: string;
  params_total: number;
  params_body: number;
  params_head: number;
  epochs: number;
  /** Epoch of the best monitored validation metric. */
  best_epoch: number;
  best_val_acc: number;
  best_val_loss: number;
  /** Last epoch's training accuracy and loss as trained (dropout and augmentation on: not comparable with val). */
  final_train_acc: number;
  final_train_loss: number;
  /** Last epoch's accuracy and loss on the fixed training sample in inference mode (train.trainEvalSize). */
  final_train_eval_acc: number;
  final_train_eval_loss: number;
  final_val_acc: number;
  final_val_loss: number;
  /** Last epoch's generalization gap: train_eval_acc - val_acc and val_loss - train_eval_loss. */
  gap_acc: number;
  gap_loss: number;
  /** The same gap at the best-validation epoch (best_epoch). */
  best_gap_acc: number;
  best_gap_loss: number;
  /** The test result the suite selects (best-validation checkpoint or last epoch). */
  test_acc: number;
  test_loss: number;
  test_error: number;
  test_error_final: number;
  test_error_best: number;
  wall_seconds: number;
  images_per_second: number;
  backend: string;
  run_dir: string;
}

/** One run with its per-epoch history (for the plots). */
export interface CollectedRun {
  record: RunRecord;
  metrics: EpochLogs[];
}

/** Per-variant statistics over its completed seeds (comparison.csv, kind = variant). */
export interface VariantStats {
  variant: string;
  body: string;
  head: string;
  params_total: number;
  params_head: number;
  /** Completed seeds the statistics use. */
  seeds: number;
  /** Runs of this variant that are not completed. */
  incomplete: number;
  test_error_mean: number;
  test_error_std: number;
  test_loss_mean: number;
  test_loss_std: number;
  /** Last epoch's running training accuracy (Keras meaning: dropout and augmentation on). */
  train_acc_mean: number;
  train_acc_std: number;
  /** Last epoch's accuracy on the fixed training sample in inference mode: what the gap subtracts from. */
  train_eval_acc_mean: number;
  train_eval_acc_std: number;
  val_acc_mean: number;
  val_acc_std: number;
  /** Last epoch's generalization gap. */
  gap_acc_mean: number;
  gap_acc_std: number;
  gap_loss_mean: number;
  gap_loss_std: number;
  /** Generalization gap at the best-validation epoch. */
  best_gap_acc_mean: number;
  best_gap_acc_std: number;
  best_gap_loss_mean: number;
  best_gap_loss_std: number;
  best_epoch_mean: number;
  best_epoch_std: number;
  wall_seconds_mean: number;
  images_per_second_mean: number;
}

export interface Aggregate {
  runs: CollectedRun[];
  variants: VariantStats[];
  pairs: PairStats[];
}

/** Is a live compare holding this run's lock? (Decides whether status `running` means running or interrupted.) */
function isLocked(spec: RunSpec, staleMs: number | undefined): boolean {
  try {
    const state = runLockState(spec.runDir, staleMs);
    return state === 'held' || state === 'orphaned';
  } catch {
    return false;
  }
}

const numberOrNaN = (x: number | null | undefined) => (typeof x === 'number' ? x : NaN);

/** How aggregate reads the run folders. */
export interface AggregateOptions {
  /** Lock staleness for another machine's lock, as compare's executeRuns uses it (default: the lock's). */
  staleMs?: number;
}

/**
 * Reads one run folder into a record; never throws for a missing or broken folder. Epoch rows come upgraded
 * (src/run/metrics.ts): a gap counts only beside the train_eval value it was computed from.
 */
export function collectRun(spec: RunSpec, variant: Variant, select: 'best' | 'final', opts: AggregateOptions = {}): CollectedRun {
  const st = runState(spec);
  const s = st.summary;
  const usable = st.condition === 'completed' || st.condition === 'incomplete';
  // A worker that died before summary.json (or before recording its error) left the reason in worker-error.txt.
  const workerError = st.condition === 'stale' ? undefined : readWorkerError(spec.runDir);
  let status: string = usable ? (s?.status ?? 'missing') : st.condition;
  if (status === 'missing' && workerError !== undefined) status = 'failed';
  if (status === 'running' && !isLocked(spec, opts.staleMs)) status = workerError !== undefined ? 'failed' : 'interrupted';
  const metrics = usable ? readMetrics(spec.runDir) : [];
  const n = (x: number | null | undefined) => (usable ? numberOrNaN(x) : NaN);
  const test = s?.test ? s.test[select] : undefined;
  const record: RunRecord = {
    variant: spec.variant, body: variant.body, head: variant.head, seed: spec.seed, status,
    error: (usable ? s?.error : undefined) ?? workerError ?? '',
    params_total: n(s?.model.params?.total), params_body: n(s?.model.params?.body), params_head: n(s?.model.params?.head),
    epochs: n(s?.epochsRun), best_epoch: n(s?.best?.epoch),
    best_val_acc: n(s?.best?.val_acc), best_val_loss: n(s?.best?.val_loss),
    final_train_acc: n(s?.final?.train_acc), final_train_loss: n(s?.final?.train_loss),
    final_train_eval_acc: n(s?.final?.train_eval_acc), final_train_eval_loss: n(s?.final?.train_eval_loss),
    final_val_acc: n(s?.final?.val_acc), final_val_loss: n(s?.final?.val_loss),
    gap_acc: n(s?.final?.gap_acc), gap_loss: n(s?.final?.gap_loss), best_gap_acc: n(s?.best?.gap_acc), best_gap_loss: n(s?.best?.gap_loss),
    test_acc: n(test?.acc), test_loss: n(test?.loss), test_error: n(test?.error),
    test_error_final: n(s?.test?.final.error), test_error_best: n(s?.test?.best.error),
    wall_seconds: n(s?.wallSeconds), images_per_second: n(s?.imagesPerSecond),
    backend: usable ? s?.backend?.name ?? '' : '', run_dir: path.relative('.', spec.runDir),
  };
  return { record, metrics };
}

/** Statistics of one variant over its completed runs. */
export function variantStats(variant: Variant, runs: readonly RunRecord[]): VariantStats {
  const mine = runs.filter((r) => r.variant === variant.name);
  const done = mine.filter((r) => r.status === 'completed');
  const col = (k: keyof RunRecord) => done.map((r) => r[k] as number);
  const first = (k: keyof RunRecord) => col(k).find(Number.isFinite) ?? NaN;
  return {
    variant: variant.name, body: variant.body, head: variant.head,
    params_total: first('params_total'), params_head: first('params_head'),
    seeds: done.length, incomplete: mine.length - done.length,
    test_error_mean: mean(col('test_error')), test_error_std: std(col('test_error')),
    test_loss_mean: mean(col('test_loss')), test_loss_std: std(col('test_loss')),
    train_acc_mean: mean(col('final_train_acc')), train_acc_std: std(col('final_train_acc')),
    train_eval_acc_mean: mean(col('final_train_eval_acc')), train_eval_acc_std: std(col('final_train_eval_acc')),
    val_acc_mean: mean(col('final_val_acc')), val_acc_std: std(col('final_val_acc')),
    gap_acc_mean: mean(col('gap_acc')), gap_acc_std: std(col('gap_acc')),
    gap_loss_mean: mean(col('gap_loss')), gap_loss_std: std(col('gap_loss')),
    best_gap_acc_mean: mean(col('best_gap_acc')), best_gap_acc_std: std(col('best_gap_acc')),
    best_gap_loss_mean: mean(col('best_gap_loss')), best_gap_loss_std: std(col('best_gap_loss')),
    best_epoch_mean: mean(col('best_epoch')), best_epoch_std: std(col('best_epoch')),
    wall_seconds_mean: mean(col('wall_seconds')), images_per_second_mean: mean(col('images_per_second')),
  };
}

/** Reads every run of the plan (all shards) and computes the statistics. */
export function aggregate(plan: Plan, opts: AggregateOptions = {}): Aggregate {
  const byName = new Map(plan.variants.map((v) => [v.name, v]));
  const runs = plan.runs.map((spec) => collectRun(spec, byName.get(spec.variant) as Variant, plan.select, opts));
  const records = runs.map((r) => r.record);
  return {
    runs,
    variants: plan.variants.map((v) => variantStats(v, records)),
    pairs: pairStats(plan.variants, records),
  };
}
