// Statistics over seeds: mean, sample standard deviation, and 95% intervals for a difference of means (Welch t, bootstrap).
import tCdf from '@stdlib/stats-base-dists-t-cdf';
import tQuantile from '@stdlib/stats-base-dists-t-quantile';
import { mean as ssMean, sampleStandardDeviation } from 'simple-statistics';
import { Rng } from '../util/rng.js';

/** Mean of the finite values; NaN when there are none. */
export function mean(xs: readonly number[]): number {
  const f = xs.filter(Number.isFinite);
  return f.length ? ssMean(f) : NaN;
}

/** Sample standard deviation (n - 1 in the denominator) of the finite values; NaN below two values. */
export function std(xs: readonly number[]): number {
  const f = xs.filter(Number.isFinite);
  return f.length >= 2 ? sampleStandardDeviation(f) : NaN;
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
