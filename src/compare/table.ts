// The terminal summary: one line per variant, one per head pair (difference with 95% intervals), and the failed runs.
import type { Aggregate, VariantStats } from './aggregate.js';
import { count, fixed, interval, pct, pctPm, pValue } from './format.js';

/** Left-aligns the first column, right-aligns the rest, two spaces apart. */
export function alignColumns(rows: readonly string[][]): string[] {
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => (r[c] ?? '').length)));
  return rows.map((r) => r.map((v, c) => (c === 0 ? v.padEnd(widths[c]) : v.padStart(widths[c]))).join('  ').trimEnd());
}

/** The lines compare prints after collecting. */
export function summaryTable(agg: Aggregate, select: 'best' | 'final'): string[] {
  const lines: string[] = [];
  const header = ['variant', 'params', 'head params', 'seeds', `test error % (${select})`, 'train acc % (inference)', `gap acc pp (${select})`, 'gap loss', 'best epoch', 's/run'];
  // The gap at the same epoch as the test error, as in the verdict.
  const gap = (v: VariantStats) => (select === 'best'
    ? { acc: v.best_gap_acc_mean, sd: v.best_gap_acc_std, loss: v.best_gap_loss_mean }
    : { acc: v.gap_acc_mean, sd: v.gap_acc_std, loss: v.gap_loss_mean });
  const rows = agg.variants.map((v) => [
    v.variant, count(v.params_total), count(v.params_head), v.incomplete ? `${v.seeds} (+${v.incomplete} not done)` : String(v.seeds),
    pctPm(v.test_error_mean, v.test_error_std), pct(v.train_eval_acc_mean), pctPm(gap(v).acc, gap(v).sd),
    fixed(gap(v).loss), fixed(v.best_epoch_mean, 1), fixed(v.wall_seconds_mean, 0),
  ]);
  lines.push(...alignColumns([header, ...rows]));
  if (agg.pairs.length) {
    lines.push('', 'test error differences (a - b, percentage points; 95% intervals: unpaired Welch t and percentile bootstrap, ' +
      'then paired by seed: t interval, sign-flip p, seeds where a is lower):');
    const prow = agg.pairs.map((p) => {
      const t = p.paired.test_error;
      return [
        `${p.a} - ${p.b}`, p.heads, fixed(100 * p.diff, 2), `Welch ${interval(p.welch_low, p.welch_high)}`, `p ${pValue(p.welch_p)}`,
        `bootstrap ${interval(p.boot_low, p.boot_high)}`, `paired ${interval(t.low, t.high)}`, `p ${pValue(t.pPerm)}`, `${t.aLower}/${t.n}`,
      ];
    });
    lines.push(...alignColumns([['pair', 'heads', 'diff', 'CI', 'p', 'CI', 'CI', 'p', 'a lower'], ...prow]));
  }
  const bad = agg.runs.map((r) => r.record).filter((r) => r.status !== 'completed');
  if (bad.length) {
    lines.push('', 'runs not completed:');
    for (const r of bad) lines.push(`  ${r.variant} seed ${r.seed}: ${r.status}${r.error ? `: ${r.error.split('\n')[0]}` : ''}`);
  }
  return lines;
}
