// Global contrast normalization + ZCA whitening (the NIN paper's preprocessing, as in pylearn2's maxout CIFAR-10 setup).
import { EigenvalueDecomposition, Matrix } from 'ml-matrix';

/** GCN and ZCA constants; the defaults are pylearn2's for CIFAR-10 (pixels in 0..255). */
export interface GcnZcaParams {
  /** Each image is scaled to this standard deviation (pylearn2 `scale`). */
  scale: number;
  /** Added to the per-image variance before the square root, so flat images are not blown up (`sqrt_bias`). */
  sqrtBias: number;
  /** Added to every eigenvalue before inverting it (`filter_bias`): limits the gain on near-zero-variance directions. */
  filterBias: number;
}

export const DEFAULT_GCN_ZCA: GcnZcaParams = { scale: 55, sqrtBias: 10, filterBias: 0.1 };

/**
 * Global contrast normalization of one image of D uint8 values into `out` (length D):
 * x - mean(x), divided by sqrt(sqrtBias + var(x)) (sample variance, ddof 1), times `scale`.
 */
export function gcn(src: Uint8Array, offset: number, d: number, p: GcnZcaParams, out: Float32Array | Float64Array, outOffset = 0): void {
  let sum = 0;
  for (let k = 0; k < d; k++) sum += src[offset + k];
  const mean = sum / d;
  let ss = 0;
  for (let k = 0; k < d; k++) {
    const c = src[offset + k] - mean;
    ss += c * c;
  }
  const variance = d > 1 ? ss / (d - 1) : 0;
  const f = p.scale / Math.max(Math.sqrt(p.sqrtBias + variance), 1e-8);
  for (let k = 0; k < d; k++) out[outOffset + k] = (src[offset + k] - mean) * f;
}

/**
 * Fits ZCA on m GCN-normalized samples (rows of `x`, m x d, float64; centred here in place).
 * Returns the sample mean (d) and W = V diag(1 / sqrt(lambda + filterBias)) V^T (d x d, row-major), where
 * V, lambda are the eigenvectors/values of the covariance X^T X / m. Cost: m d^2 / 2 for the covariance,
 * about 10 d^3 for the eigendecomposition (ml-matrix) and d^3 / 2 for W.
 */
export function fitZca(
  x: Float64Array,
  m: number,
  d: number,
  filterBias: number,
  log: (line: string) => void = () => {},
): { mean: Float32Array; whitening: Float32Array } {
  let t = Date.now();
  const lap = (what: string) => {
    log(`gcn-zca: ${what} in ${((Date.now() - t) / 1000).toFixed(1)} s`);
    t = Date.now();
  };
  const mean = new Float64Array(d);
  for (let i = 0; i < m; i++) for (let k = 0; k < d; k++) mean[k] += x[i * d + k];
  for (let k = 0; k < d; k++) mean[k] /= m;
  for (let i = 0; i < m; i++) for (let k = 0; k < d; k++) x[i * d + k] -= mean[k];
  const cov = covariance(x, m, d);
  lap(`covariance of ${m} samples`);
  const eig = new EigenvalueDecomposition(Matrix.from1DArray(d, d, cov), { assumeSymmetric: true });
  lap(`eigendecomposition (${d}x${d})`);
  const values = eig.realEigenvalues;
  const vectors = eig.eigenvectorMatrix.to2DArray(); // row i = coordinate i of every eigenvector
  // U = V diag((lambda + bias)^(-1/4)), so W = U U^T; clamp tiny negative eigenvalues from rounding.
  const u = new Float64Array(d * d);
  for (let i = 0; i < d; i++) {
    const row = vectors[i];
    for (let k = 0; k < d; k++) u[i * d + k] = row[k] / Math.pow(Math.max(values[k], 0) + filterBias, 0.25);
  }
  const w = new Float32Array(d * d);
  for (let i = 0; i < d; i++) {
    for (let j = i; j < d; j++) {
      let s = 0;
      const oi = i * d;
      const oj = j * d;
      for (let k = 0; k < d; k++) s += u[oi + k] * u[oj + k];
      w[i * d + j] = s;
      w[j * d + i] = s;
    }
  }
  lap('whitening matrix');
  return { mean: Float32Array.from(mean), whitening: w };
}

/** X^T X / m for centred rows of x (m x d), blocked over samples so each covariance entry is touched once per block. */
function covariance(x: Float64Array, m: number, d: number): Float64Array {
  const cov = new Float64Array(d * d);
  const block = 32;
  const t = new Float64Array(d * block); // transposed block: t[k * block + b] = x[(i0 + b) * d + k]
  for (let i0 = 0; i0 < m; i0 += block) {
    const bs = Math.min(block, m - i0);
    t.fill(0);
    for (let b = 0; b < bs; b++) for (let k = 0; k < d; k++) t[k * block + b] = x[(i0 + b) * d + k];
    for (let p = 0; p < d; p++) {
      const op = p * block;
      for (let q = p; q < d; q++) {
        const oq = q * block;
        let s = 0;
        for (let b = 0; b < block; b++) s += t[op + b] * t[oq + b];
        cov[p * d + q] += s;
      }
    }
  }
  for (let p = 0; p < d; p++) {
    for (let q = p; q < d; q++) {
      const v = cov[p * d + q] / m;
      cov[p * d + q] = v;
      cov[q * d + p] = v;
    }
  }
  return cov;
}

/** out (b x d) = (g - mean) W for b GCN'd rows g; plain loops, W rows reused across the batch while in cache. */
export function whiten(g: Float32Array, b: number, d: number, mean: Float32Array, w: Float32Array): Float32Array {
  for (let r = 0; r < b; r++) for (let k = 0; k < d; k++) g[r * d + k] -= mean[k];
  const out = new Float32Array(b * d);
  for (let i = 0; i < d; i++) {
    const wo = i * d;
    for (let r = 0; r < b; r++) {
      const gi = g[r * d + i];
      if (gi === 0) continue;
      const oo = r * d;
      for (let j = 0; j < d; j++) out[oo + j] += gi * w[wo + j];
    }
  }
  return out;
}
