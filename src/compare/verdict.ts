// One plain sentence per head pair, written from the paired statistics: what the seeds separate and what they do not.
import type { HeadName } from '../config/schema.js';
import type { IncompleteRun, PairStats } from './pairs.js';
import type { PairedResult } from '../util/stats.js';

/** How a person calls each head (compile-checked: a new head needs a name here). */
const HEAD_LABELS: Record<HeadName, string> = { gap: 'GAP', 'gap-dense': 'GAP + dense', fc: 'FC', 'fc-dropout': 'FC + dropout' };

export function headLabel(head: string): string {
  return (HEAD_LABELS as Record<string, string>)[head] ?? head;
}

/** A compared quantity: its name, the same after "on", and the words for a below / above b. */
interface Quantity {
  name: string;
  onName: string;
  lower: string;
  higher: string;
}

const TEST_ERROR: Quantity = { name: 'test error', onName: 'test error', lower: 'lower', higher: 'higher' };

/** The generalization gap at the epoch whose test error the suite selects, so both halves of a sentence agree. */
function gapQuantity(select: 'best' | 'final'): Quantity {
  const name = `generalization gap at the ${select === 'best' ? 'best-validation' : 'last'} epoch`;
  return { name, onName: `the ${name}`, lower: 'smaller', higher: 'larger' };
}

/** Below this a difference is float noise (e.g. 0.2 - 0.21 + 0.22 - 0.21), not a measurement. */
const NOISE = 1e-12;

/**
 * Percentage points with one decimal and a real minus sign. A value that would round to 0.0 keeps one significant
 * digit instead, so an interval that excludes 0 never reads as touching it.
 */
export function points(x: number): string {
  const pp = 100 * x;
  const s = Math.abs(x) < NOISE ? '0.0' : Math.abs(pp) < 0.05 ? pp.toPrecision(1) : pp.toFixed(1);
  return s.replace('-', '\u2212');
}

function pText(p: number): string {
  return p < 0.001 ? '< 0.001' : `= ${p.toFixed(p < 0.01 ? 3 : 2)}`;
}

/** "lower on 4 of 5 seeds, tied on 1": the seeds that agree with a direction, so mixed signs stay visible. */
function seedCount(r: PairedResult, word: string, k: number): string {
  return `${word} on ${k} of ${r.n} seeds${r.ties ? `, tied on ${r.ties}` : ''}`;
}

/** Two or more seeds: "separated" only when the paired 95% interval excludes 0. */
function clause(r: PairedResult, q: Quantity): string {
  if (r.low > 0 || r.high < 0) {
    const below = r.diff < 0;
    const word = below ? q.lower : q.higher;
    const [lo, hi] = below ? [-r.high, -r.low] : [r.low, r.high];
    return `${q.name} ${points(Math.abs(r.diff))} points ${word} (95% CI ${points(lo)} to ${points(hi)}, ` +
      `${seedCount(r, word, below ? r.aLower : r.aHigher)}, p ${pText(r.pPerm)})`;
  }
  // Seeds are counted in the direction of the mean difference ("higher on 2 of 2 seeds", not "lower on 0 of 2").
  const above = r.diff > NOISE;
  return `the seeds do not separate them on ${q.onName} (difference ${points(r.diff)} points, ` +
    `95% CI ${points(r.low)} to ${points(r.high)}; ${seedCount(r, above ? q.higher : q.lower, above ? r.aHigher : r.aLower)})`;
}

/** One seed's difference, "1.2 points lower", with no claim attached. */
function single(r: PairedResult, q: Quantity): string {
  return Math.abs(r.diff) < NOISE ? 'the same' : `${points(Math.abs(r.diff))} points ${r.diff < 0 ? q.lower : q.higher}`;
}

/** The gap half of a sentence whose test error has two or more seeds. */
function gapClause(r: PairedResult, q: Quantity): string {
  if (r.n === 0) return `${q.name} not recorded`;
  if (r.n === 1) return `${q.name}: one seed, no interval (${single(r, q)})`;
  return clause(r, q);
}

/** "FC + dropout seeds 2, 3 (failed)": runs left out of the pairing, grouped by variant and status. */
function incompleteText(runs: readonly IncompleteRun[], label: (variant: string) => string): string {
  const groups: Array<{ variant: string; status: string; seeds: number[] }> = [];
  for (const r of runs) {
    const g = groups.find((x) => x.variant === r.variant && x.status === r.status);
    if (g) g.seeds.push(r.seed);
    else groups.push({ variant: r.variant, status: r.status, seeds: [r.seed] });
  }
  return groups.map((g) => `${label(g.variant)} seed${g.seeds.length > 1 ? 's' : ''} ${g.seeds.join(', ')} (${g.status})`).join(', ');
}

/** The comparison part of a sentence: by the number of seeds both sides completed. */
function findings(te: PairedResult, gap: PairedResult, gq: Quantity): string {
  if (te.n === 0) return 'no seed completed on both sides, nothing to compare';
  if (te.n >= 2) return `${clause(te, TEST_ERROR)}; ${gapClause(gap, gq)}`;
  const parts = [`test error ${single(te, TEST_ERROR)}`, ...(gap.n === 1 ? [`${gq.name} ${single(gap, gq)}`] : [])];
  return `one seed: no interval (${parts.join(', ')})`;
}

/**
 * The sentence for one pair: a's test error against b's and, at the same epoch choice (`select`), their generalization
 * gaps, from the seeds both completed; then the runs left out. Values in percentage points; p is the sign-flip test's.
 */
export function verdict(p: PairStats, select: 'best' | 'final'): string {
  const [la, lb] = [headLabel(p.head_a), headLabel(p.head_b)];
  // Two variants with the same head (e.g. two widths) are told apart by name.
  const label = (variant: string) => (la === lb ? variant : variant === p.a ? la : lb);
  const gap = p.paired[select === 'best' ? 'gap_acc_best' : 'gap_acc_final'];
  const missing = p.incomplete.length ? `; not completed: ${incompleteText(p.incomplete, label)}` : '';
  return `${label(p.a)} vs ${label(p.b)} (${p.body}): ${findings(p.paired.test_error, gap, gapQuantity(select))}${missing}.`;
}

/** What the sentences' numbers are, for the line above them. */
export function verdictNote(select: 'best' | 'final'): string {
  return `Paired by seed (the first head minus the second, over the seeds both completed), in percentage points. Test error ` +
    `of the ${select === 'best' ? 'best-validation checkpoint' : 'last epoch'}; generalization gap = accuracy on a fixed ` +
    `training sample in inference mode minus validation accuracy, at the ${select === 'best' ? 'best-validation' : 'last'} epoch. ` +
    `95% CI: paired t. p: exact two-sided sign-flip permutation test over seeds (it cannot go below 2 / 2^seeds: 0.0625 with 5 seeds). ` +
    `A pair is separated only when the 95% CI excludes 0.`;
}

export function verdicts(pairs: readonly PairStats[], select: 'best' | 'final'): string[] {
  return pairs.map((p) => verdict(p, select));
}
