// Per-epoch curves across seeds: the mean and a +-1 standard deviation band of each metric, per variant (plot data).
import { upgradeLogs, type EpochLogs } from '../run/metrics.js';
import type { CollectedRun } from './aggregate.js';
import { mean, std } from '../util/stats.js';

/** One point of a curve: `series` is e.g. train/val (learning curves) or the variant (gaps). */
export interface CurvePoint {
  variant: string;
  metric: string;
  series: string;
  epoch: number;
  mean: number;
  /** mean - std and mean + std (both = mean with one seed). */
  low: number;
  high: number;
  /** Seeds that reached this epoch. */
  n: number;
}

type MetricKey = Exclude<keyof EpochLogs, 'epoch'>;

/** Mean and band of `key` per epoch over the completed runs of each variant (epochs some seeds lack use the rest). */
export function curve(runs: readonly CollectedRun[], key: MetricKey, metric: string, series: (variant: string) => string): CurvePoint[] {
  const groups = new Map<string, Map<number, number[]>>();
  for (const r of runs) {
    if (r.record.status !== 'completed') continue;
    const byEpoch = groups.get(r.record.variant) ?? new Map<number, number[]>();
    groups.set(r.record.variant, byEpoch);
    for (const m of r.metrics) {
      const v = m[key];
      if (!Number.isFinite(v)) continue;
      byEpoch.set(m.epoch, [...(byEpoch.get(m.epoch) ?? []), v]);
    }
  }
  const out: CurvePoint[] = [];
  for (const [variant, byEpoch] of groups) {
    for (const [epoch, xs] of [...byEpoch].sort((a, b) => a[0] - b[0])) {
      const m = mean(xs);
      const s = xs.length >= 2 ? std(xs) : 0;
      out.push({ variant, metric, series: series(variant), epoch, mean: m, low: m - s, high: m + s, n: xs.length });
    }
  }
  return out;
}

/**
 * Training (running, as trained), training in inference mode (the fixed sample) and validation accuracy or loss per
 * variant: the learning curves.
 */
export function learningCurves(runs: readonly CollectedRun[], what: 'acc' | 'loss'): CurvePoint[] {
  return [
    ...curve(runs, `train_${what}`, what, () => 'train (running)'),
    ...curve(runs, `train_eval_${what}`, what, () => 'train (inference)'),
    ...curve(runs, `val_${what}`, what, () => 'validation'),
  ];
}

/** The runs with their rows upgraded (src/run/metrics.ts): a row from before the train-eval pass has no gap (NaN). */
function upgraded(runs: readonly CollectedRun[]): CollectedRun[] {
  return runs.map((r) => ({ ...r, metrics: r.metrics.map(upgradeLogs) }));
}

/** Generalization gaps per epoch (inference-mode training sample vs validation), one series per variant. */
export function gapCurves(runs: readonly CollectedRun[]): CurvePoint[] {
  const rows = upgraded(runs);
  return [
    ...curve(rows, 'gap_acc', 'accuracy gap (train, inference mode - val)', (v) => v),
    ...curve(rows, 'gap_loss', 'loss gap (val - train, inference mode)', (v) => v),
  ];
}
