// metrics.csv: one row per epoch, rewritten as each epoch ends, so a crash keeps every finished epoch.
import { writeFileAtomic } from '../../io/durable-write.js';
import type { Callback, EpochLogs, TrainState } from './types.js';

export const METRIC_COLUMNS: ReadonlyArray<keyof EpochLogs> = [
  'epoch', 'lr', 'train_loss', 'train_acc', 'train_eval_loss', 'train_eval_acc', 'val_loss', 'val_acc', 'gap_acc', 'gap_loss',
  'epoch_seconds', 'train_eval_seconds', 'images_per_second',
];

/** Wall-clock columns: they differ between runs that are otherwise bit-identical. */
export const TIMING_COLUMNS: ReadonlyArray<keyof EpochLogs> = ['epoch_seconds', 'train_eval_seconds', 'images_per_second'];

/**
 * Rounds for the CSV: losses/accuracies to 1e-6 are far below run-to-run noise and keep the file readable. NaN (not
 * measured: no validation set, train.trainEvalSize 0) becomes an empty cell.
 */
export function roundLogs(l: EpochLogs): Record<string, number | ''> {
  const r = (x: number, d: number): number | '' => (Number.isNaN(x) ? '' : Number.isFinite(x) ? Number(x.toFixed(d)) : x);
  return {
    epoch: l.epoch,
    lr: Number(l.lr.toPrecision(6)),
    train_loss: r(l.train_loss, 6),
    train_acc: r(l.train_acc, 6),
    train_eval_loss: r(l.train_eval_loss, 6),
    train_eval_acc: r(l.train_eval_acc, 6),
    val_loss: r(l.val_loss, 6),
    val_acc: r(l.val_acc, 6),
    gap_acc: r(l.gap_acc, 6),
    gap_loss: r(l.gap_loss, 6),
    epoch_seconds: r(l.epoch_seconds, 3),
    train_eval_seconds: r(l.train_eval_seconds, 3),
    images_per_second: r(l.images_per_second, 1),
  };
}

/**
 * Replaces `file` with the header and one row per epoch of `history`. Atomic (durable-write.ts): an append could
 * leave half a row on a full disk; the whole file is a few kB, so rewriting it costs nothing.
 */
export function writeMetrics(file: string, history: readonly EpochLogs[]): void {
  const lines = [METRIC_COLUMNS.join(',')];
  for (const h of history) {
    const r = roundLogs(h);
    lines.push(METRIC_COLUMNS.map((k) => String(r[k])).join(','));
  }
  writeFileAtomic(file, lines.join('\n') + '\n');
}

export class CsvLogger implements Callback {
  constructor(private readonly file: string) {}

  /** The history holds this epoch's row and, after a resume, the checkpoint's rows before it. */
  onEpochEnd(_logs: EpochLogs, s: TrainState): void {
    writeMetrics(this.file, s.history);
  }
}
