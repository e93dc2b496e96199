// runs.csv and comparison.csv: column lists, and atomic writes (two compares collecting at once never leave half a file).
import { createObjectCsvStringifier } from 'csv-writer';
import writeFileAtomic from 'write-file-atomic';
import type { Aggregate, PairStats, RunRecord, VariantStats } from './aggregate.js';

export const RUN_COLUMNS: ReadonlyArray<keyof RunRecord> = [
  'variant', 'body', 'head', 'seed', 'status', 'params_total', 'params_body', 'params_head', 'epochs', 'best_epoch',
  'best_val_acc', 'best_val_loss', 'final_train_acc', 'final_train_loss', 'final_val_acc', 'final_val_loss',
  'gap_acc', 'gap_loss', 'test_acc', 'test_loss', 'test_error', 'test_error_final', 'test_error_best',
  'wall_seconds', 'images_per_second', 'backend', 'run_dir', 'error',
];

const VARIANT_COLUMNS: ReadonlyArray<keyof VariantStats> = [
  'params_total', 'params_head', 'seeds', 'incomplete', 'test_error_mean', 'test_error_std', 'test_loss_mean',
  'test_loss_std', 'train_acc_mean', 'train_acc_std', 'val_acc_mean', 'val_acc_std', 'gap_acc_mean', 'gap_acc_std',
  'gap_loss_mean', 'gap_loss_std', 'best_epoch_mean', 'best_epoch_std', 'wall_seconds_mean', 'images_per_second_mean',
];

const PAIR_COLUMNS = ['a', 'b', 'diff_test_error', 'welch_low', 'welch_high', 'welch_df', 'welch_p', 'boot_low', 'boot_high'] as const;

/** comparison.csv: `kind` is `variant` (statistics over seeds) or `pair` (a's test error minus b's, with 95% intervals). */
export const COMPARISON_COLUMNS: readonly string[] = ['kind', 'variant', 'body', 'head', ...VARIANT_COLUMNS, ...PAIR_COLUMNS];

type Cell = string | number;

/** Full precision for numbers; NaN and infinities (not measured) become empty cells. */
export function cell(v: unknown): string {
  if (typeof v === 'number') return Number.isFinite(v) ? String(v) : '';
  return v === undefined ? '' : String(v);
}

function toCsv(columns: readonly string[], rows: ReadonlyArray<Record<string, Cell>>): string {
  const s = createObjectCsvStringifier({ header: columns.map((id) => ({ id, title: id })) });
  const text = rows.map((r) => Object.fromEntries(columns.map((c) => [c, cell(r[c])])));
  return s.getHeaderString() + s.stringifyRecords(text);
}

export function runsCsv(agg: Aggregate): string {
  return toCsv(RUN_COLUMNS as readonly string[], agg.runs.map((r) => r.record as unknown as Record<string, Cell>));
}

/** One pair row in comparison.csv's columns: variant "a - b", head "gap vs fc". */
export function pairRow(p: PairStats): Record<string, Cell> {
  return {
    kind: 'pair', variant: `${p.a} - ${p.b}`, body: p.body, head: p.heads, a: p.a, b: p.b, diff_test_error: p.diff,
    welch_low: p.welch_low, welch_high: p.welch_high, welch_df: p.welch_df, welch_p: p.welch_p,
    boot_low: p.boot_low, boot_high: p.boot_high,
  };
}

export function comparisonCsv(agg: Aggregate): string {
  const rows: Array<Record<string, Cell>> = [
    ...agg.variants.map((v) => ({ kind: 'variant', ...(v as unknown as Record<string, Cell>) })),
    ...agg.pairs.map(pairRow),
  ];
  return toCsv(COMPARISON_COLUMNS, rows);
}

/** Writes through a temporary file and rename, so readers and concurrent writers only ever see whole files. */
export async function writeAtomic(file: string, data: string | Buffer): Promise<void> {
  await writeFileAtomic(file, data);
}
