// Statistics over seeds against hand-computed values (and SciPy's ttest_ind(equal_var=False) for the p-values).
import { expect } from 'chai';
import { bootstrapDiff, mean, quantileSorted, std, welch } from '../../src/compare/stats.js';

const close = (a: number, b: number, tol = 1e-12) => expect(Math.abs(a - b), `${a} vs ${b}`).to.be.below(tol);

describe('compare statistics', () => {
  it('mean and sample standard deviation ignore missing values', () => {
    close(mean([0.2, 0.22, 0.24]), 0.22);
    close(std([0.2, 0.22, 0.24]), 0.02); // sqrt(((-0.02)^2 + 0 + 0.02^2) / 2)
    close(std([1, 2, 3, 4]), Math.sqrt(5 / 3));
    close(mean([1, NaN, 3]), 2);
    expect(std([0.3])).to.be.NaN;
    expect(mean([])).to.be.NaN;
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
});
