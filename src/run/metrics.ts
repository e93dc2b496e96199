// metrics.csv: the per-epoch row (its schema), its one writer, its reader, and the upgrade of rows older versions wrote.
import fs from 'node:fs';
import { parse } from 'csv-parse/sync';
import { writeFileAtomic } from '../io/durable-write.js';
import { runPath } from './files.js';

/**
 * One row of metrics.csv (and `final`/`best` of summary.json, a checkpoint's history): what an epoch measured. NaN
 * where nothing was measured: no validation set, train.trainEvalSize 0, or a row written before train_eval_* existed
 * (upgradeLogs: those and the gaps).
 */
export interface EpochLogs {
  /** 1-based epoch number. */
  epoch: number;
  lr: number;
  /** Keras meaning: mean over the epoch's batches as trained (dropout and augmentation on, weights moving). */
  train_loss: number;
  /** Keras meaning, like train_loss; not comparable with val_acc, so no gap is taken from it. */
  train_acc: number;
  /** Loss on the fixed training sample (train.trainEvalSize) at the epoch end, in inference mode like val_loss. */
  train_eval_loss: number;
  /** Accuracy on that sample, in inference mode. */
  train_eval_acc: number;
  val_loss: number;
  val_acc: number;
  /** train_eval_acc - val_acc: the generalization gap in accuracy (> 0 when the model overfits). */
  gap_acc: number;
  /** val_loss - train_eval_loss: the generalization gap in loss (> 0 when the model overfits). */
  gap_loss: number;
  /** Wall time of the whole epoch: batches, validation and the train-eval pass. */
  epoch_seconds: number;
  /** The train-eval pass's share of epoch_seconds (its cost; 0 when it is off). */
  train_eval_seconds: number;
  /** Training images per second over the batches (evaluation passes excluded). */
  images_per_second: number;
}

export const METRIC_COLUMNS: ReadonlyArray<keyof EpochLogs> = [
  'epoch', 'lr', 'train_loss', 'train_acc', 'train_eval_loss', 'train_eval_acc', 'val_loss', 'val_acc', 'gap_acc', 'gap_loss',
  'epoch_seconds', 'train_eval_seconds', 'images_per_second',
];

/** Wall-clock columns: they differ between runs that are otherwise bit-identical. */
export const TIMING_COLUMNS: ReadonlyArray<keyof EpochLogs> = ['epoch_seconds', 'train_eval_seconds', 'images_per_second'];

/** A row as stored by any version: columns added since may be absent, and JSON stores NaN as null. */
export type StoredLogs = { [K in keyof EpochLogs]?: number | null };

/**
 * A stored row as this version writes it: every column a number, NaN for absent or null (not measured). A row from
 * before the train-eval pass also gets NaN gaps: those were taken from the running train numbers, another quantity,
 * so a gap counts only beside the train_eval value it was computed from.
 */
export function upgradeLogs(row: StoredLogs): EpochLogs {
  const l = { ...row } as Record<string, unknown>;
  for (const k of METRIC_COLUMNS) if (typeof l[k] !== 'number') l[k] = NaN;
  const up = l as unknown as EpochLogs;
  if (!Number.isFinite(up.train_eval_acc)) up.gap_acc = NaN;
  if (!Number.isFinite(up.train_eval_loss)) up.gap_loss = NaN;
  return up;
}

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
 * Replaces the run's metrics.csv with the header and one row per epoch of `history`: the one writer, for the CSV
 * logger at each epoch end and for a resume (which drops rows of epochs run after its checkpoint). Atomic
 * (durable-write.ts): an append could leave half a row on a full disk; the whole file is a few kB.
 */
export function writeMetrics(runDir: string, history: readonly EpochLogs[]): void {
  const lines = [METRIC_COLUMNS.join(',')];
  for (const h of history) {
    const r = roundLogs(h);
    lines.push(METRIC_COLUMNS.map((k) => String(r[k])).join(','));
  }
  writeFileAtomic(runPath(runDir, 'metrics'), lines.join('\n') + '\n');
}

/** metrics.csv rows as numbers (one per epoch, upgraded: empty cells and absent columns NaN); [] when there is no file. */
export function readMetrics(runDir: string): EpochLogs[] {
  let text: string;
  try {
    text = fs.readFileSync(runPath(runDir, 'metrics'), 'utf8');
  } catch {
    return [];
  }
  const rows = parse(text, { columns: true, skip_empty_lines: true, cast: (v, ctx) => (ctx.header ? v : v === '' ? NaN : Number(v)) }) as StoredLogs[];
  return rows.map(upgradeLogs);
}
