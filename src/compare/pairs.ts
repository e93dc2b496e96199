// Head pairs: every two variants with the same body, compared unpaired (Welch, bootstrap) and paired by seed.
import type { RunRecord } from './aggregate.js';
import type { Variant } from './plan.js';
import { bootstrapDiff, paired, welch, type PairedResult } from '../util/stats.js';

/** What pairs compare seed by seed: the name in PairStats.paired and the runs.csv column it is read from. */
export const PAIRED_METRICS = {
  /** The test error the suite's `select` names. */
  test_error: 'test_error',
  gap_acc_best: 'best_gap_acc',
  gap_acc_final: 'gap_acc',
  gap_loss_best: 'best_gap_loss',
  gap_loss_final: 'gap_loss',
} as const satisfies Record<string, keyof RunRecord>;

export type PairedMetric = keyof typeof PAIRED_METRICS;

/** A run of one side of a pair that did not complete: why that seed is not in the paired statistics. */
export interface IncompleteRun {
  variant: string;
  seed: number;
  status: string;
}

/** Two variants with the same body (comparison.csv, kind = pair). Every difference is a minus b. */
export interface PairStats {
  a: string;
  b: string;
  body: string;
  head_a: string;
  head_b: string;
  /** e.g. "gap vs fc". */
  heads: string;
  /** Unpaired view of test error: mean over a's completed seeds minus mean over b's (negative: a is better). */
  diff: number;
  welch_low: number;
  welch_high: number;
  welch_df: number;
  welch_p: number;
  boot_low: number;
  boot_high: number;
  /** Paired view: per-seed differences over the seeds both variants completed. */
  paired: Record<PairedMetric, PairedResult>;
  /** Runs of a or b that are not completed, in suite order. */
  incomplete: IncompleteRun[];
}

/** One column of two variants, aligned by seed (a[i] and b[i] are the same seed), over seeds both completed. */
function alignBySeed(runs: readonly RunRecord[], a: string, b: string, col: keyof RunRecord): { a: number[]; b: number[] } {
  const done = (v: string) => new Map(runs.filter((r) => r.variant === v && r.status === 'completed').map((r) => [r.seed, r[col] as number]));
  const da = done(a);
  const db = done(b);
  const seeds = [...da.keys()].filter((s) => db.has(s));
  return { a: seeds.map((s) => da.get(s) as number), b: seeds.map((s) => db.get(s) as number) };
}

/** The statistics of one pair. */
export function pairOf(a: Variant, b: Variant, runs: readonly RunRecord[], level = 0.95): PairStats {
  const errors = (name: string) => runs.filter((r) => r.variant === name && r.status === 'completed').map((r) => r.test_error);
  const ea = errors(a.name);
  const eb = errors(b.name);
  const w = welch(ea, eb, level);
  const boot = bootstrapDiff(ea, eb, level, 10_000, `${a.name}|${b.name}`);
  const pairedOn = (col: keyof RunRecord) => {
    const x = alignBySeed(runs, a.name, b.name, col);
    return paired(x.a, x.b, level);
  };
  return {
    a: a.name, b: b.name, body: a.body, head_a: a.head, head_b: b.head, heads: `${a.head} vs ${b.head}`, diff: w.diff,
    welch_low: w.low, welch_high: w.high, welch_df: w.df, welch_p: w.p, boot_low: boot.low, boot_high: boot.high,
    paired: Object.fromEntries(Object.entries(PAIRED_METRICS).map(([k, col]) => [k, pairedOn(col)])) as Record<PairedMetric, PairedResult>,
    incomplete: runs
      .filter((r) => (r.variant === a.name || r.variant === b.name) && r.status !== 'completed')
      .map((r) => ({ variant: r.variant, seed: r.seed, status: r.status })),
  };
}

/** Every pair of variants that share a body, in suite order (a before b). */
export function pairStats(variants: readonly Variant[], runs: readonly RunRecord[], level = 0.95): PairStats[] {
  return variants.flatMap((a, i) => variants.slice(i + 1).filter((b) => b.body === a.body).map((b) => pairOf(a, b, runs, level)));
}
