// The native ZCA fit (oneDNN sgemm + LAPACK dsyevd) against the JavaScript one and against the definition of W.
import { expect } from 'chai';
import { loadAddon, DISABLE_ENV } from '../../src/backend/native/addon.js';
import { fitPreprocessor } from '../../src/data/preprocess.js';
import type { ImageSet } from '../../src/data/types.js';
import { DEFAULT_GCN_ZCA, fitZca, gcn, jsZcaKernels, whiten, type ZcaKernels, type ZcaSamples } from '../../src/data/zca.js';
import { Rng } from '../../src/util/rng.js';
import { needsNativeZca } from './native-zca.js';

const BIAS = DEFAULT_GCN_ZCA.filterBias;

/**
 * n 8x8x3 images (d = 192) with a spectrum like natural images': a few smooth patterns of decaying amplitude plus
 * pixel noise, so the covariance's eigenvalues span several decades, some of them below filterBias.
 */
function structuredSet(n: number, seed: string): ImageSet {
  const rng = new Rng(seed);
  const images = new Uint8Array(n * 192);
  for (let i = 0; i < n; i++) {
    const a = Array.from({ length: 8 }, (_, k) => (rng.normal() * 40) / (k + 1));
    for (let y = 0; y < 8; y++) {
      for (let x = 0; x < 8; x++) {
        for (let c = 0; c < 3; c++) {
          let v = 128 + rng.normal() * 2;
          for (let k = 0; k < 8; k++) v += a[k] * Math.cos(((k % 3) + 1) * 0.4 * x + (k >> 1) * 0.5 * y + k * c);
          images[(y * 8 + x) * 3 + c + i * 192] = Math.max(0, Math.min(255, Math.round(v)));
        }
      }
    }
  }
  return { images, labels: new Int32Array(n), n, height: 8, width: 8, channels: 3 };
}

/**
 * m samples (d = 192) of small integers (|x| <= 15) with the same kind of spectrum, in +-pairs so every column's mean
 * is exactly 0. Every float32 product and sum of up to 256 of them is then an exact integer (< 2^24): both paths compute
 * the very same covariance, and what remains between them is the float32 W of the native path.
 */
function exactSamples(m: number, seed: string): ZcaSamples {
  const rng = new Rng(seed);
  const d = 192;
  const x = new Float32Array(m * d);
  for (let i = 0; i < m / 2; i++) {
    const a = Array.from({ length: 6 }, (_, k) => (rng.normal() * 6) / (k + 1));
    for (let j = 0; j < d; j++) {
      let v = rng.normal();
      for (let k = 0; k < 6; k++) v += a[k] * Math.cos((k + 1) * 0.05 * j + k);
      x[i * d + j] = Math.max(-15, Math.min(15, Math.round(v)));
      x[(m / 2 + i) * d + j] = -x[i * d + j];
    }
  }
  return { m, d, read: (start, rows, out) => out.set(x.subarray(start * d, (start + rows) * d)) };
}

/** The GCN'd images of a set as ZcaSamples (what fitPreprocessor fits on). */
function samplesOf(set: ImageSet): ZcaSamples {
  const d = 192;
  return { m: set.n, d, read: (start, rows, out) => { for (let r = 0; r < rows; r++) gcn(set.images, (start + r) * d, d, DEFAULT_GCN_ZCA, out, r * d); } };
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).to.equal(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

/** Runs f with the addon hidden (the JavaScript loops and fit). */
function withoutAddon<T>(f: () => T): T {
  process.env[DISABLE_ENV] = '1';
  try {
    return f();
  } finally {
    delete process.env[DISABLE_ENV];
  }
}

/** The mean and covariance (divided by m) of the samples, straight from the definition in float64. */
function covarianceByDefinition(s: ZcaSamples): { mean: Float64Array; cov: Float64Array } {
  const { m, d } = s;
  const x = new Float32Array(m * d);
  s.read(0, m, x);
  const mean = new Float64Array(d);
  for (let i = 0; i < m; i++) for (let k = 0; k < d; k++) mean[k] += x[i * d + k] / m;
  const cov = new Float64Array(d * d);
  for (let i = 0; i < m; i++) {
    for (let p = 0; p < d; p++) {
      const xp = x[i * d + p] - mean[p];
      for (let q = 0; q < d; q++) cov[p * d + q] += (xp * (x[i * d + q] - mean[q])) / m;
    }
  }
  return { mean, cov };
}

/** max |W W (C + bias I) - I|: W = (C + bias I)^(-1/2) exactly when this is 0. */
function inverseSquareRootError(w: Float32Array, cov: Float64Array, d: number): number {
  const ww = new Float64Array(d * d);
  for (let i = 0; i < d; i++) for (let k = 0; k < d; k++) for (let j = 0; j < d; j++) ww[i * d + j] += w[i * d + k] * w[k * d + j];
  let err = 0;
  for (let i = 0; i < d; i++) {
    for (let j = 0; j < d; j++) {
      let s = 0;
      for (let k = 0; k < d; k++) s += ww[i * d + k] * (cov[k * d + j] + (k === j ? BIAS : 0));
      err = Math.max(err, Math.abs(s - (i === j ? 1 : 0)));
    }
  }
  return err;
}

/** Float32's unit roundoff: a float32 sum of n terms is off by at most ~n U times the sum of their magnitudes. */
const U = 2 ** -24;

type Fit = { mean: Float32Array; whitening: Float32Array };

/**
 * Whitened held-out images on both per-batch paths (the addon's sgemm, the JavaScript loops): the largest gap between
 * them, and the largest by which it exceeds its bound. An output is sum_i (g_i - mean_i) W_ij: the two fits' gaps in
 * W and mean move it by <= sum_i |g_i - mean_i| |dW_ij| + |dmean_i| |W_ij|, and each side's float32 sum of 192
 * products is off by <= 192 U sum_i |g_i - mean_i| |W_ij|.
 */
function whitenedGap(fast: Fit, slow: Fit): { gap: number; excess: number } {
  const d = 192, n = 50;
  const probe = structuredSet(n, 'probe');
  const rows = () => {
    const out = new Float32Array(n * d);
    for (let i = 0; i < n; i++) gcn(probe.images, i * d, d, DEFAULT_GCN_ZCA, out, i * d);
    return out;
  };
  const g = rows();
  const outFast = whiten(rows(), n, d, fast.mean, fast.whitening);
  const outSlow = withoutAddon(() => whiten(rows(), n, d, slow.mean, slow.whitening));
  let gap = 0, excess = -Infinity;
  for (let r = 0; r < n; r++) {
    for (let j = 0; j < d; j++) {
      let bound = 0;
      for (let i = 0; i < d; i++) {
        const c = Math.abs(g[r * d + i] - slow.mean[i]);
        const w = Math.abs(slow.whitening[i * d + j]);
        bound += c * Math.abs(fast.whitening[i * d + j] - slow.whitening[i * d + j]) + Math.abs(fast.mean[i] - slow.mean[i]) * w + 2 * d * U * c * w;
      }
      const diff = Math.abs(outFast[r * d + j] - outSlow[r * d + j]);
      gap = Math.max(gap, diff);
      excess = Math.max(excess, diff - bound);
    }
  }
  return { gap, excess };
}

describe('ZCA: native fit (oneDNN sgemm + LAPACK dsyevd)', function () {
  this.timeout(60_000);
  let native: ZcaKernels;
  before(function () {
    native = needsNativeZca(this);
  });

  for (const m of [600, 100]) {
    it(`same covariance (exact integers, m = ${m}, d = 192): W and whitened images agree to float32 rounding`, () => {
      const fast = fitZca(exactSamples(m, `exact-${m}`), BIAS, native);
      const slow = fitZca(exactSamples(m, `exact-${m}`), BIAS, jsZcaKernels);
      expect(Array.from(fast.mean)).to.deep.equal(Array.from(slow.mean));
      // Native W = Y^T Y is a float32 sum of 192 products: off by <= 192 U sum_k |Y_ki Y_kj| <= 192 U sqrt(W_ii W_jj).
      // Both eigensolvers are backward stable in float64 (~1e-16 |C| |f'| ~ 1e-10 on W). Measured: ~1e-7.
      let wii = 0;
      for (let i = 0; i < 192; i++) wii = Math.max(wii, slow.whitening[i * 193]);
      const tol = 192 * U * wii + 1e-9;
      expect(maxAbsDiff(fast.whitening, slow.whitening), 'max |W_native - W_js|').to.be.below(tol);
      expect(whitenedGap(fast, slow).excess, 'whitened gap beyond its bound').to.be.at.most(0);
    });
  }

  for (const m of [600, 100]) {
    it(`GCN'd images (m = ${m}, d = 192): the float32 products move W no further than perturbation theory allows`, () => {
      const s = samplesOf(structuredSet(m, `gcn-${m}`));
      const fast = fitZca(s, BIAS, native);
      const slow = fitZca(s, BIAS, jsZcaKernels);
      expect(maxAbsDiff(fast.mean, slow.mean)).to.be.below(1e-4);
      // The native covariance differs by dC (float32 sums; measured here, and checked against their bound). By Weyl its eigenvalues lie within
      // |dC|_F of the exact ones, >= lambda_min - |dC|_F; f(lambda) = (max(lambda, 0) + b)^(-1/2) is Lipschitz there with
      // L = (1/2) (max(lambda_min - |dC|_F, 0) + b)^(-3/2), and for symmetric matrices |f(A) - f(B)|_F <= L |A - B|_F.
      // Plus the float32 W as above. GCN makes the all-ones direction an exact null one (lambda_min = 0, so L = 16 at
      // b = 0.1), so the bound is loose: measured 4e-5 (bound 0.7) for m = 600; 1.7e-2 (bound 0.75) for m = 100,
      // whose 92 zero eigenvalues meet the rounding of a covariance with entries up to ~6,000.
      const { gap, overBound, smallest } = covarianceGap(s);
      expect(overBound, 'largest covariance gap over its float32 bound').to.be.at.most(1);
      const lipschitz = 0.5 * (Math.max(smallest - gap, 0) + BIAS) ** -1.5;
      const tol = lipschitz * gap + 192 * U * BIAS ** -0.5 + 1e-9;
      expect(maxAbsDiff(fast.whitening, slow.whitening), 'max |W_native - W_js|').to.be.below(tol);
      expect(whitenedGap(fast, slow).excess, 'whitened gap beyond its bound').to.be.at.most(0);
    });
  }

  /**
   * The native and JavaScript covariances of the same float32 samples, centred as fitZca centres a single chunk: |dC|_F,
   * the largest |dC_pq| over its float32 bound, and the smallest eigenvalue of the JavaScript one.
   */
  function covarianceGap(s: ZcaSamples): { gap: number; overBound: number; smallest: number } {
    const { m, d } = s;
    const x = new Float32Array(m * d);
    s.read(0, m, x);
    const mean = new Float64Array(d);
    for (let i = 0; i < m * d; i++) mean[i % d] += x[i];
    const shift = Float32Array.from(mean, (v) => v / m);
    for (let i = 0; i < m * d; i++) x[i] -= shift[i % d];
    const [a, b, abs] = [new Float64Array(d * d), new Float64Array(d * d), new Float64Array(d * d)];
    native.covarianceUpdate(x, m, d, a);
    jsZcaKernels.covarianceUpdate(x, m, d, b);
    jsZcaKernels.covarianceUpdate(x.map(Math.abs), m, d, abs);
    // sgemm sums at most 256 rows (native/src/linalg.cc, kCovRows) in float32 before the float64 add: each entry is off
    // by at most 256 U sum_i |x_ip x_iq|.
    let ss = 0, overBound = 0;
    for (let p = 0; p < d; p++) {
      for (let q = p; q < d; q++) {
        const diff = Math.abs(a[p * d + q] - b[p * d + q]);
        ss += (q === p ? 1 : 2) * (diff / m) ** 2;
        overBound = Math.max(overBound, diff / (256 * U * abs[p * d + q]));
      }
    }
    const values = new Float64Array(d);
    jsZcaKernels.symmetricEigen(b.map((v) => v / m), d, values);
    return { gap: Math.sqrt(ss), overBound, smallest: Math.min(...values) };
  }

  it('W W (C + bias I) = I for C from the definition, on both paths (exact integers, m = 600)', () => {
    const s = exactSamples(600, 'definition');
    const { mean, cov } = covarianceByDefinition(s);
    const values = new Float64Array(192);
    jsZcaKernels.symmetricEigen(cov.slice(), 192, values);
    const largest = Math.max(...values);
    for (const kernels of [native, jsZcaKernels]) {
      const fit = fitZca(s, BIAS, kernels);
      expect(maxAbsDiff(fit.mean, mean), `${kernels.name} mean`).to.be.below(1e-12);
      // W is stored in float32 (each entry off by up to U |W_ij|, and by 192 U sqrt(W_ii W_jj) from the native sum),
      // and W W (C + bI) changes by up to 2 |dW|_2 |W (C + bI)|_2 = 2 |dW|_2 sqrt(lambda_max + b), |dW|_2 <= |dW|_F.
      const frob = Math.sqrt(fit.whitening.reduce((t, v) => t + v * v, 0));
      const tol = 2 * Math.sqrt(largest + BIAS) * 193 * U * frob + 1e-9;
      expect(inverseSquareRootError(fit.whitening, cov, 192), `${kernels.name} W W (C + bI) - I`).to.be.below(tol);
    }
  });

  it('splitting the samples into chunks (each added to the float64 sum) does not change the fit', () => {
    const s = exactSamples(300, 'chunks');
    const whole = fitZca(s, BIAS, native);
    const chunked = fitZca(s, BIAS, native, () => {}, 7);
    // Chunk means are not exactly 0 (the first chunk's mean is the shift), so sums are no longer exact integers.
    expect(maxAbsDiff(whole.mean, chunked.mean)).to.be.below(1e-6);
    expect(maxAbsDiff(whole.whitening, chunked.whitening)).to.be.below(1e-4);
  });

  it('kernels: covarianceUpdate adds x^T x on and above the diagonal; symmetricEigen gives A v = lambda v, ascending', () => {
    const rng = new Rng('kernels');
    const rows = 37, d = 21;
    const x = Float32Array.from({ length: rows * d }, () => rng.normal());
    const acc = Float64Array.from({ length: d * d }, () => 1); // added to, not overwritten
    loadAddon()!.covarianceUpdate!(x, rows, d, acc);
    for (let p = 0; p < d; p++) {
      for (let q = 0; q < d; q++) {
        let s = 0;
        for (let r = 0; r < rows; r++) s += x[r * d + p] * x[r * d + q];
        // Below the diagonal: untouched. On and above: float32 sums of 37 products of size ~1.
        expect(acc[p * d + q]).to.be.closeTo(q >= p ? 1 + s : 1, 1e-4);
      }
    }
    const a = Float64Array.from({ length: d * d }, () => 0);
    for (let p = 0; p < d; p++) for (let q = p; q < d; q++) a[p * d + q] = acc[p * d + q] - 1; // upper triangle only
    const sym = (p: number, q: number) => a[Math.min(p, q) * d + Math.max(p, q)];
    const matrix = Array.from({ length: d * d }, (_, i) => sym(Math.floor(i / d), i % d));
    const values = new Float64Array(d);
    native.symmetricEigen(a, d, values);
    for (let k = 1; k < d; k++) expect(values[k]).to.be.at.least(values[k - 1]);
    for (let k = 0; k < d; k++) {
      let norm = 0;
      for (let i = 0; i < d; i++) {
        let av = 0;
        for (let j = 0; j < d; j++) av += matrix[i * d + j] * a[k * d + j];
        expect(av).to.be.closeTo(values[k] * a[k * d + i], 1e-9 * Math.max(1, Math.abs(values[d - 1])));
        norm += a[k * d + i] ** 2;
      }
      expect(norm).to.be.closeTo(1, 1e-12);
    }
  });

  it('fitPreprocessor says which path fits: the native one by default, JavaScript with one line saying it is slow', () => {
    const set = structuredSet(40, 'lines');
    const lines: string[] = [];
    const fast = fitPreprocessor('gcn-zca', set, { log: (l) => lines.push(l) });
    expect(lines.find((l) => l.startsWith('gcn-zca: fitting'))).to.contain('with oneDNN sgemm + LAPACK dsyevd');
    expect(lines.filter((l) => l.includes('slow'))).to.deep.equal([]);
    lines.length = 0;
    const slow = withoutAddon(() => fitPreprocessor('gcn-zca', set, { log: (l) => lines.push(l) }));
    expect(lines.filter((l) => l.includes('slow'))).to.deep.equal([
      `gcn-zca: slow: minutes for CIFAR-sized images in JavaScript (no native backend: disabled by ${DISABLE_ENV}=1; ` +
        'apt-get install liblapacke-dev libopenblas0-openmp, then npm run build:native)',
    ]);
    // 40 images of d = 192: 152 zero eigenvalues, as in the m = 100 case above.
    const out = (p: typeof fast) => p.toFloat(set.images, set.n, 8, 8, 3);
    expect(maxAbsDiff(out(fast), withoutAddon(() => out(slow)))).to.be.below(1);
  });

  it('a batch is whitened by one sgemm on the addon ((n x d) times (d x d)), not by JavaScript loops', () => {
    const set = structuredSet(40, 'batch');
    const pre = fitPreprocessor('gcn-zca', set);
    const addon = loadAddon()!;
    const matmul = addon.matmul;
    const calls: number[][] = [];
    addon.matmul = (...args: Parameters<typeof matmul>) => {
      calls.push(Array.from(args[3]));
      matmul(...args);
    };
    try {
      pre.toFloat(set.images.subarray(0, 16 * 192), 16, 8, 8, 3);
    } finally {
      addon.matmul = matmul;
    }
    expect(calls).to.deep.equal([[1, 1, 16, 192, 192, 0, 0]]);
  });
});
