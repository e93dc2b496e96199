// The project's statistics: mean, sample standard deviation, median; 95% intervals for a difference of means (Welch
// t, bootstrap) and the paired view (same seed on both sides): paired t interval, exact sign-flip permutation test.
import tCdf from '@stdlib/stats-base-dists-t-cdf';
import tQuantile from '@stdlib/stats-base-dists-t-quantile';
import { Rng } from './rng.js';

/** Mean of the finite values; NaN when there are none. */
export function mean(xs: readonly number[]): number {
  const f = xs.filter(Number.isFinite);
  return f.length ? f.reduce((a, b) => a + b, 0) / f.length : NaN;
}

/** Sample standard deviation (n - 1 in the denominator) of the finite values; NaN below two values. */
export function std(xs: readonly number[]): number {
  const f = xs.filter(Number.isFinite);
  if (f.length < 2) return NaN;
  const m = mean(f); // two passes: no cancellation when the values are large and close together
  return Math.sqrt(f.reduce((a, x) => a + (x - m) ** 2, 0) / (f.length - 1));
}

/** Median of the finite values (mean of the two middle ones for an even count); NaN when there are none. */
export function median(xs: readonly number[]): number {
  const f = xs.filter(Number.isFinite).sort((a, b) => a - b);
  if (!f.length) return NaN;
  const mid = f.length >> 1;
  return f.length % 2 ? f[mid]! : (f[mid - 1]! + f[mid]!) / 2;
}

export interface Spread {
  median: number;
  min: number;
  max: number;
}

/** Median, min and max of the finite values (NaN for all three when there are none). */
export function spread(xs: readonly number[]): Spread {
  const f = xs.filter(Number.isFinite);
  return { median: median(f), min: f.length ? Math.min(...f) : NaN, max: f.length ? Math.max(...f) : NaN };
}

export interface Interval {
  low: number;
  high: number;
}

export interface WelchResult extends Interval {
  /** mean(a) - mean(b). */
  diff: number;
  /** Standard error of the difference. */
  se: number;
  /** Welch-Satterthwaite degrees of freedom. */
  df: number;
  /** Two-sided p-value of "the means are equal". */
  p: number;
}

/**
 * Welch's t interval for mean(a) - mean(b) (unequal variances): diff +- t(1 - alpha/2, df) * se, with
 * se = sqrt(va/na + vb/nb) and df = se^4 / ((va/na)^2/(na-1) + (vb/nb)^2/(nb-1)). Needs two finite values per side;
 * otherwise every field but diff is NaN. Zero spread on both sides gives a zero-width interval and p 0 or 1.
 */
export function welch(a: readonly number[], b: readonly number[], level = 0.95): WelchResult {
  const fa = a.filter(Number.isFinite);
  const fb = b.filter(Number.isFinite);
  const diff = mean(fa) - mean(fb);
  if (fa.length < 2 || fb.length < 2) return { diff, se: NaN, df: NaN, low: NaN, high: NaN, p: NaN };
  const qa = std(fa) ** 2 / fa.length;
  const qb = std(fb) ** 2 / fb.length;
  const se = Math.sqrt(qa + qb);
  if (se === 0) return { diff, se, df: NaN, low: diff, high: diff, p: diff === 0 ? 1 : 0 };
  const df = (qa + qb) ** 2 / (qa ** 2 / (fa.length - 1) + qb ** 2 / (fb.length - 1));
  const t = tQuantile(1 - (1 - level) / 2, df);
  const p = 2 * (1 - tCdf(Math.abs(diff) / se, df));
  return { diff, se, df, low: diff - t * se, high: diff + t * se, p };
}

/**
 * Percentile bootstrap interval for mean(a) - mean(b): resample each side with replacement `resamples` times from a
 * seeded stream (so reports are reproducible), take the (1-level)/2 and 1-(1-level)/2 quantiles (linear
 * interpolation between order statistics). Needs two values per side. With 2-3 seeds per side it is narrow and
 * optimistic; Welch is the one to read.
 */
export function bootstrapDiff(a: readonly number[], b: readonly number[], level = 0.95, resamples = 10_000, seed: string | number = 'bootstrap'): Interval {
  const fa = a.filter(Number.isFinite);
  const fb = b.filter(Number.isFinite);
  // One value per side has no spread to resample: a zero-width interval would claim a certainty nobody measured.
  if (fa.length < 2 || fb.length < 2) return { low: NaN, high: NaN };
  const rng = new Rng(seed);
  const resampledMean = (xs: readonly number[]) => {
    let s = 0;
    for (let i = 0; i < xs.length; i++) s += xs[rng.int(xs.length)];
    return s / xs.length;
  };
  const diffs = new Float64Array(resamples);
  for (let r = 0; r < resamples; r++) diffs[r] = resampledMean(fa) - resampledMean(fb);
  diffs.sort();
  return { low: quantileSorted(diffs, (1 - level) / 2), high: quantileSorted(diffs, 1 - (1 - level) / 2) };
}

/** Quantile of sorted values with linear interpolation (type 7, as R and numpy's default). */
export function quantileSorted(sorted: ArrayLike<number>, q: number): number {
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}

export interface PairedResult extends Interval {
  /** Seeds with a finite value on both sides. */
  n: number;
  /** Mean of the per-seed differences a - b. */
  diff: number;
  /** Sample standard deviation of the differences. */
  sd: number;
  /** Two-sided paired t p-value of "the mean difference is 0". */
  pT: number;
  /** Two-sided sign-flip permutation p-value (signFlipP). */
  pPerm: number;
  /** Seeds where a < b, a > b, and a = b. */
  aLower: number;
  aHigher: number;
  ties: number;
}

/** A per-seed difference this close to 0 is a tie: float noise, far below one test image in a million. */
const TIE = 1e-12;
/** Flipped sums within this fraction of sum |d| of the observed one are ties: the same sum added in another order. */
const PERM_TIE = 1e-9;
/** Above this many seeds, 2^n sign flips are too many to enumerate. */
const EXACT_MAX_N = 20;

/**
 * Paired comparison of a and b, where a[i] and b[i] come from the same seed (same split, batch order, augmentation and
 * initial body weights, so the seed's own luck cancels in a[i] - b[i]). Uses the indices where both are finite. The
 * interval is diff +- t(1 - alpha/2, n - 1) * sd / sqrt(n). Below two pairs sd, the interval and pT are NaN (pPerm is
 * 1 for one pair: both signs of one difference are equally extreme). Differences with no spread give a zero-width
 * interval and pT 0 or 1, as welch does.
 */
export function paired(a: readonly number[], b: readonly number[], level = 0.95): PairedResult {
  const d = a.flatMap((x, i) => (Number.isFinite(x) && Number.isFinite(b[i]) ? [x - b[i]] : []));
  const n = d.length;
  const diff = mean(d);
  const sd = std(d);
  const counts = {
    aLower: d.filter((x) => x < -TIE).length,
    aHigher: d.filter((x) => x > TIE).length,
    ties: d.filter((x) => Math.abs(x) <= TIE).length,
  };
  const base = { n, diff, sd, pPerm: signFlipP(d), ...counts };
  if (n < 2) return { ...base, low: NaN, high: NaN, pT: NaN };
  if (sd === 0) return { ...base, low: diff, high: diff, pT: diff === 0 ? 1 : 0 };
  const se = sd / Math.sqrt(n);
  const t = tQuantile(1 - (1 - level) / 2, n - 1);
  return { ...base, low: diff - t * se, high: diff + t * se, pT: 2 * (1 - tCdf(Math.abs(diff) / se, n - 1)) };
}

/**
 * Two-sided sign-flip permutation p-value for "the differences are symmetric around 0": the share of the 2^n ways of
 * flipping their signs whose |sum| is at least the observed |sum| (the observed counts itself). Exact enumeration up to
 * 20 differences; above that a Monte Carlo estimate from `flips` seeded random flips, (1 + hits) / (1 + flips), so it
 * never reports 0. Sums that differ by float rounding only (relative 1e-9) count as equal. NaN without differences.
 */
export function signFlipP(d: readonly number[], flips = 100_000, seed: string | number = 'sign-flip'): number {
  const n = d.length;
  if (n === 0) return NaN;
  const scale = d.reduce((s, x) => s + Math.abs(x), 0);
  const threshold = Math.abs(d.reduce((s, x) => s + x, 0)) - PERM_TIE * scale;
  // One way of flipping: does its |sum| reach the observed one?
  const extreme = (flip: (i: number) => boolean) => {
    let s = 0;
    for (let i = 0; i < n; i++) s += flip(i) ? -d[i] : d[i];
    return Math.abs(s) >= threshold;
  };
  let hits = 0;
  if (n <= EXACT_MAX_N) {
    for (let mask = 0; mask < 2 ** n; mask++) if (extreme((i) => (mask & (1 << i)) !== 0)) hits++;
    return hits / 2 ** n;
  }
  const rng = new Rng(seed);
  for (let f = 0; f < flips; f++) if (extreme(() => rng.next() < 0.5)) hits++;
  return (1 + hits) / (1 + flips);
}
