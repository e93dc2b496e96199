// Statistics over seeds against hand-computed values (and SciPy's ttest_ind(equal_var=False) / ttest_rel for the p-values).
import { expect } from 'chai';
import { bootstrapDiff, mean, median, paired, quantileSorted, signFlipP, std, welch } from '../../src/util/stats.js';

const close = (a: number, b: number, tol = 1e-12) => expect(Math.abs(a - b), `${a} vs ${b}`).to.be.below(tol);

describe('statistics', () => {
  it('mean and sample standard deviation ignore missing values', () => {
    close(mean([0.2, 0.22, 0.24]), 0.22);
    close(std([0.2, 0.22, 0.24]), 0.02); // sqrt(((-0.02)^2 + 0 + 0.02^2) / 2)
    close(std([1, 2, 3, 4]), Math.sqrt(5 / 3));
    close(mean([1, NaN, 3]), 2);
    expect(std([0.3])).to.be.NaN;
    expect(mean([])).to.be.NaN;
  });

  it('median: middle value, or mean of the two middle ones; missing values ignored', () => {
    expect(median([5, 1, 3])).to.equal(3);
    expect(median([4, 1, 3, 10])).to.equal(3.5);
    expect(median([2, NaN])).to.equal(2);
    expect(median([])).to.be.NaN;
  });

  it('std has no cancellation for large, close values', () => {
    close(std([1e9 + 1, 1e9 + 2, 1e9 + 3]), 1, 1e-9);
  });

  it('Welch interval with equal spreads: df = 2(n-1) = 4 and the t-table quantile', () => {
    const w = welch([0.2, 0.22, 0.24], [0.26, 0.28, 0.3]);
    const se = Math.sqrt((2 * 0.02 ** 2) / 3);
    const t975df4 = 2.7764451051977934; // Student t table, 97.5% quantile, 4 degrees of freedom
    close(w.diff, -0.06);
    close(w.se, se);
    close(w.df, 4, 1e-9);
    close(w.low, -0.06 - t975df4 * se, 1e-9);
    close(w.high, -0.06 + t975df4 * se, 1e-9);
    close(w.p, 0.02131164112875665, 1e-9); // SciPy: ttest_ind(a, b, equal_var=False).pvalue
  });

  it('Welch interval with unequal spreads uses the Welch-Satterthwaite df', () => {
    const w = welch([0.2, 0.22, 0.24], [0.25, 0.28, 0.31]);
    const qa = 0.02 ** 2 / 3;
    const qb = 0.03 ** 2 / 3;
    close(w.df, (qa + qb) ** 2 / (qa ** 2 / 2 + qb ** 2 / 2), 1e-9); // = 3.4845360824742264
    close(w.df, 3.4845360824742264, 1e-9);
    close(w.low, -0.12132947206118427, 1e-9); // SciPy's confidence_interval(0.95)
    close(w.high, 0.0013294720611842295, 1e-9);
    close(w.p, 0.05297991695712669, 1e-9);
    expect(w.low).to.be.below(0); // the interval includes 0: not a difference 3 seeds can show
    expect(w.high).to.be.above(0);
  });

  it('Welch needs two seeds per side, and zero spread gives a zero-width interval', () => {
    const one = welch([0.2], [0.3, 0.31]);
    close(one.diff, 0.2 - 0.305);
    expect(one.low).to.be.NaN;
    const flat = welch([0.2, 0.2], [0.3, 0.3]);
    close(flat.low, -0.1, 1e-15);
    close(flat.high, -0.1, 1e-15);
    expect(flat.p).to.equal(0);
  });

  it('bootstrap percentile interval: exact on a two-point sample, and reproducible', () => {
    // Resampled means of [1, 2] are 1, 1.5, 2 with probabilities 1/4, 1/2, 1/4; b = [0, 0] always gives 0.
    // So the 2.5% quantile is 1 and the 97.5% quantile is 2.
    const b = bootstrapDiff([1, 2], [0, 0], 0.95, 4000, 7);
    expect(b.low).to.equal(1);
    expect(b.high).to.equal(2);
    expect(bootstrapDiff([0.2, 0.25, 0.22], [0.3, 0.26], 0.95, 2000, 'x')).to.deep.equal(bootstrapDiff([0.2, 0.25, 0.22], [0.3, 0.26], 0.95, 2000, 'x'));
    expect(bootstrapDiff([0.2], [0.3, 0.31]).low).to.be.NaN; // one seed: no interval
    const flat = bootstrapDiff([0.2, 0.2], [0.3, 0.3]);
    close(flat.low, -0.1, 1e-15);
    close(flat.high, -0.1, 1e-15);
  });

  it('quantiles interpolate linearly between order statistics', () => {
    close(quantileSorted([1, 2, 3, 4], 0.5), 2.5);
    close(quantileSorted([1, 2, 3, 4], 0.025), 1.075);
    close(quantileSorted([5], 0.9), 5);
  });

  it('paired t interval and sign-flip p on differences [1, 2, 3, 4]', () => {
    const r = paired([2, 4, 6, 8], [1, 2, 3, 4]);
    const sd = 1.2909944487358056; // sqrt(((-1.5)^2 + (-0.5)^2 + 0.5^2 + 1.5^2) / 3) = sqrt(5/3)
    const t975df3 = 3.1824463052837078; // Student t table, 97.5% quantile, 3 degrees of freedom
    expect([r.n, r.aLower, r.aHigher, r.ties]).to.deep.equal([4, 0, 4, 0]);
    close(r.diff, 2.5);
    close(r.sd, sd);
    close(r.low, 2.5 - (t975df3 * sd) / 2, 1e-9); // = 0.4457397432394794 (SciPy ttest_rel(...).confidence_interval())
    close(r.high, 4.554260256760521, 1e-9);
    close(r.pT, 0.030466291662170977, 1e-9); // t = 2.5 / (sd / 2) = 3.873 on 3 df; SciPy ttest_rel
    // Of the 16 sign flips only all-plus and all-minus reach |sum| 10 (one flip already drops it to 8 or less): 2/16.
    expect(r.pPerm).to.equal(0.125);
    const r90 = paired([2, 4, 6, 8], [1, 2, 3, 4], 0.9);
    close(r90.low, 0.9809104349065083, 1e-9); // 2.5 - 2.3533634348018233 * sd / 2
    close(r90.high, 4.019089565093491, 1e-9);
  });

  it('paired statistics count a tied seed and keep it in the mean', () => {
    const r = paired([1, 3, 2.5], [1, 2.5, 1]); // differences 0, 0.5, 1.5
    expect([r.n, r.aLower, r.aHigher, r.ties]).to.deep.equal([3, 0, 2, 1]);
    close(r.diff, 2 / 3);
    close(r.sd, 0.7637626158259734); // sqrt(((2/3)^2 + (1/6)^2 + (5/6)^2) / 2)
    close(r.low, -1.2306248501317132, 1e-9); // SciPy ttest_rel
    close(r.high, 2.5639581834650462, 1e-9);
    close(r.pT, 0.26970325665977857, 1e-9);
    // Flips of (0.5, 1.5): |sum| 2, 1, 1, 2; either sign of the 0 doubles each: 4 of 8 reach the observed 2.
    expect(r.pPerm).to.equal(0.5);
  });

  it('sign flips whose sums differ only by float rounding count as reaching the observed one', () => {
    // Differences 0.1, 0.2, -0.1: observed sum 0.2 (0.20000000000000004 in floats). Flips that keep the two 0.1
    // terms cancelling give |sum| 0.2 (4 flips), the others 0.4 or 0 (2 each): 6 of 8 reach 0.2.
    expect(paired([0.1, 0.2, -0.1], [0, 0, 0]).pPerm).to.equal(0.75);
  });

  it('pairs only the seeds finite on both sides; one pair has no interval, none has nothing', () => {
    const one = paired([0.3, NaN], [0.2, 0.1]); // seed 2 failed on side a
    expect([one.n, one.aLower, one.aHigher, one.ties]).to.deep.equal([1, 0, 1, 0]);
    close(one.diff, 0.1, 1e-15);
    expect([one.sd, one.low, one.high, one.pT]).to.deep.equal([NaN, NaN, NaN, NaN]);
    expect(one.pPerm).to.equal(1); // +0.1 and -0.1 are equally extreme
    const none = paired([NaN], [0.2]);
    expect(none.n).to.equal(0);
    expect([none.diff, none.pPerm]).to.deep.equal([NaN, NaN]);
  });

  it('paired differences without spread give a zero-width interval', () => {
    const flat = paired([1.5, 2.5], [1, 2]); // both differences exactly 0.5
    expect([flat.sd, flat.low, flat.high, flat.pT]).to.deep.equal([0, 0.5, 0.5, 0]);
    expect(flat.pPerm).to.equal(0.5); // ++ and -- reach |sum| 1; +- and -+ give 0
    const same = paired([1, 2], [1, 2]);
    expect([same.diff, same.low, same.high, same.pT, same.pPerm, same.ties]).to.deep.equal([0, 0, 0, 1, 1, 2]);
  });

  it('sign-flip p above 20 differences is a seeded Monte Carlo estimate', () => {
    // 1..21 with 1..12 negated: sum 75. Exact p by counting sums with a dynamic program in Python: 0.20291709899902344.
    const d = Array.from({ length: 21 }, (_, i) => (i < 12 ? -(i + 1) : i + 1));
    const p = signFlipP(d);
    expect(Math.abs(p - 0.20291709899902344)).to.be.below(0.01); // standard error ~0.0013 at 100,000 flips
    expect(signFlipP(d)).to.equal(p);
    // All 21 positive: exact p 2 / 2^21; the estimate says at most "1 in 100,001", never 0.
    const allUp = signFlipP(d.map(Math.abs));
    expect(allUp).to.be.above(0);
    expect(allUp).to.be.below(1e-4);
  });
});
