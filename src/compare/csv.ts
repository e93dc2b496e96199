// runs.csv and comparison.csv: column lists, and atomic writes (two compares collecting at once never leave half a file).
import { createObjectCsvStringifier } from 'csv-writer';
import { writeFileAtomic } from '../io/durable-write.js';
import type { Aggregate, RunRecord, VariantStats } from './aggregate.js';
import { PAIRED_METRICS, type PairedMetric, type PairStats } from './pairs.js';
import type { PairedResult } from '../util/stats.js';

export const RUN_COLUMNS: ReadonlyArray<keyof RunRecord> = [
  'variant', 'body', 'head', 'seed', 'status', 'params_total', 'params_body', 'params_head', 'epochs', 'best_epoch',
  'best_val_acc', 'best_val_loss', 'final_train_acc', 'final_train_loss', 'final_train_eval_acc', 'final_train_eval_loss',
  'final_val_acc', 'final_val_loss', 'gap_acc', 'gap_loss', 'best_gap_acc', 'best_gap_loss',
  'test_acc', 'test_loss', 'test_error', 'test_error_final', 'test_error_best', 'wall_seconds', 'images_per_second', 'backend', 'run_dir', 'error',
];

const VARIANT_COLUMNS: ReadonlyArray<keyof VariantStats> = [
  'params_total', 'params_head', 'seeds', 'incomplete', 'test_error_mean', 'test_error_std', 'test_loss_mean',
  'test_loss_std', 'train_acc_mean', 'train_acc_std', 'train_eval_acc_mean', 'train_eval_acc_std', 'val_acc_mean', 'val_acc_std', 'gap_acc_mean', 'gap_acc_std',
  'gap_loss_mean', 'gap_loss_std', 'best_gap_acc_mean', 'best_gap_acc_std', 'best_gap_loss_mean', 'best_gap_loss_std',
  'best_epoch_mean', 'best_epoch_std', 'wall_seconds_mean', 'images_per_second_mean',
];

/** The unpaired view of a pair's test error (means over each side's completed seeds). */
const UNPAIRED_COLUMNS = ['a', 'b', 'diff_test_error', 'welch_low', 'welch_high', 'welch_df', 'welch_p', 'boot_low', 'boot_high'] as const;

/** Column suffix of each paired statistic. */
const PAIRED_FIELDS = {
  n: 'n', diff: 'diff', sd: 'sd', low: 'low', high: 'high', p_t: 'pT', p_perm: 'pPerm', a_lower: 'aLower', a_higher: 'aHigher', ties: 'ties',
} as const satisfies Record<string, keyof PairedResult>;
type PairedField = keyof typeof PAIRED_FIELDS;

/** The paired view's columns: everything for test error (paired_*), the essentials for each gap (paired_<metric>_*). */
const PAIRED_GROUPS: ReadonlyArray<{ metric: PairedMetric; prefix: string; fields: readonly PairedField[] }> = [
  { metric: 'test_error', prefix: 'paired_', fields: Object.keys(PAIRED_FIELDS) as PairedField[] },
  ...(Object.keys(PAIRED_METRICS) as PairedMetric[]).filter((m) => m !== 'test_error').map((metric) => ({
    metric, prefix: `paired_${metric}_`, fields: ['n', 'diff', 'low', 'high', 'p_perm', 'a_lower'] as const,
  })),
];

const PAIRED_COLUMNS = PAIRED_GROUPS.flatMap((g) => g.fields.map((f) => `${g.prefix}${f}`));

/** comparison.csv: `kind` is `variant` (statistics over seeds) or `pair` (a minus b: unpaired, then paired by seed). */
export const COMPARISON_COLUMNS: readonly string[] = [
  'kind', 'variant', 'body', 'head', ...VARIANT_COLUMNS, ...UNPAIRED_COLUMNS, ...PAIRED_COLUMNS,
];

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
    ...Object.fromEntries(PAIRED_GROUPS.flatMap((g) => g.fields.map((f) => [`${g.prefix}${f}`, p.paired[g.metric][PAIRED_FIELDS[f]]]))),
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
  writeFileAtomic(file, data);
}
