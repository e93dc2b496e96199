// Global contrast normalization + ZCA whitening (the NIN paper's preprocessing, as in pylearn2's maxout CIFAR-10 setup).
import { EigenvalueDecomposition, Matrix } from 'ml-matrix';
import { addonError, loadAddon } from '../backend/native/addon.js';

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

/** The heavy steps of a ZCA fit, on the native addon (seconds for CIFAR) or in plain JavaScript (minutes). */
export interface ZcaKernels {
  name: 'native' | 'js';
  /** What computes it, for the log (the LAPACK library file on the native path). */
  detail: string;
  /** acc (d x d, float64, row-major) += x^T x over the rows of x (rows x d); only entries on and above the diagonal are used. */
  covarianceUpdate(x: Float32Array, rows: number, d: number, acc: Float64Array): void;
  /** Symmetric a (d x d, upper triangle read): eigenvalue k into values[k], its eigenvector into row k of a. */
  symmetricEigen(a: Float64Array, d: number, values: Float64Array): void;
  /** w = y^T y for y (d x d, row-major). */
  gramT(y: Float32Array, d: number, w: Float32Array): void;
}

/** Plain loops and ml-matrix, all in float64: the reference the native kernels are tested against. */
export const jsZcaKernels: ZcaKernels = {
  name: 'js',
  detail: 'JavaScript (ml-matrix)',
  covarianceUpdate(x, rows, d, acc) {
    // Blocked over samples so each covariance entry is touched once per block of 32 rows.
    const block = 32;
    const t = new Float64Array(d * block); // transposed block: t[k * block + b] = x[(i0 + b) * d + k]
    for (let i0 = 0; i0 < rows; i0 += block) {
      const bs = Math.min(block, rows - i0);
      t.fill(0);
      for (let b = 0; b < bs; b++) for (let k = 0; k < d; k++) t[k * block + b] = x[(i0 + b) * d + k];
      for (let p = 0; p < d; p++) {
        const op = p * block;
        for (let q = p; q < d; q++) {
          const oq = q * block;
          let s = 0;
          for (let b = 0; b < block; b++) s += t[op + b] * t[oq + b];
          acc[p * d + q] += s;
        }
      }
    }
  },
  symmetricEigen(a, d, values) {
    for (let p = 0; p < d; p++) for (let q = p + 1; q < d; q++) a[q * d + p] = a[p * d + q];
    const eig = new EigenvalueDecomposition(Matrix.from1DArray(d, d, a), { assumeSymmetric: true });
    values.set(eig.realEigenvalues);
    const vectors = eig.eigenvectorMatrix.to2DArray(); // column k = eigenvector k
    for (let i = 0; i < d; i++) for (let k = 0; k < d; k++) a[k * d + i] = vectors[i][k];
  },
  gramT(y, d, w) {
    const acc = new Float64Array(d * d);
    for (let k = 0; k < d; k++) {
      const row = k * d;
      for (let i = 0; i < d; i++) {
        const yi = y[row + i];
        if (yi === 0) continue;
        const o = i * d;
        for (let j = i; j < d; j++) acc[o + j] += yi * y[row + j];
      }
    }
    for (let i = 0; i < d; i++) for (let j = i; j < d; j++) w[i * d + j] = w[j * d + i] = acc[i * d + j];
  },
};

/**
 * The native kernels when the addon loads and was built with LAPACK: covariance and W on oneDNN's sgemm (float32
 * products, summed in float64 across chunks of samples), eigendecomposition with LAPACK's dsyevd (float64). Otherwise
 * the JavaScript ones, with the reason.
 */
export function zcaKernels(): { kernels: ZcaKernels; fallback?: string } {
  const addon = loadAddon();
  if (!addon) return { kernels: jsZcaKernels, fallback: `no native backend: ${addonError() ?? 'not loaded'}` };
  const { covarianceUpdate, symmetricEigen } = addon;
  if (!covarianceUpdate || !symmetricEigen) {
    return { kernels: jsZcaKernels, fallback: 'the native backend was built without LAPACK (no lapacke.h)' };
  }
  return {
    kernels: {
      name: 'native',
      detail: `oneDNN sgemm + LAPACK dsyevd (${addon.info().lapack ?? 'LAPACK'})`,
      covarianceUpdate: (x, rows, d, acc) => covarianceUpdate(x, rows, d, acc),
      symmetricEigen: (a, d, values) => symmetricEigen(a, d, values),
      gramT: (y, d, w) => addon.matmul(y, y, w, Int32Array.of(1, 1, d, d, d, 1, 0), null, 0, 0),
    },
  };
}

/** The samples a ZCA fit runs on, read chunk by chunk so that all m x d values never sit in memory at once. */
export interface ZcaSamples {
  m: number;
  d: number;
  /** Writes samples [start, start + rows) into out (rows x d, row-major). */
  read(start: number, rows: number, out: Float32Array): void;
}

/** Samples per chunk: about 32 MB of float32 for CIFAR (2,730 rows of 3,072), however many images are fitted on. */
const CHUNK_VALUES = 1 << 23;

/**
 * Fits ZCA: the sample mean (d) and W = V diag(1 / sqrt(lambda + filterBias)) V^T (d x d, row-major), where V, lambda
 * are the eigenvectors/values of the covariance of the samples (divided by m). Cost: m d^2 for the covariance (only
 * blocks on and above the diagonal), about 9 d^3 for the eigendecomposition and 2 d^3 for W.
 */
export function fitZca(
  samples: ZcaSamples,
  filterBias: number,
  kernels: ZcaKernels,
  log: (line: string) => void = () => {},
  chunkRows = Math.floor(CHUNK_VALUES / samples.d),
): { mean: Float32Array; whitening: Float32Array } {
  const { m, d } = samples;
  let t = performance.now();
  const lap = (): string => {
    const now = performance.now();
    const s = ((now - t) / 1000).toFixed(1);
    t = now;
    return s;
  };
  let readSeconds = 0; // reading includes GCN, and is part of the covariance step
  const rowsPer = Math.max(1, Math.min(m, chunkRows));
  const buf = new Float32Array(rowsPer * d);
  // Summed around the first chunk's mean, so the covariance is taken of nearly centred values in one pass (no
  // cancellation between a large mean and the spread): cov = sum (x - s)(x - s)^T / m - delta delta^T, delta = mean - s.
  const shift = new Float32Array(d);
  const shiftedSum = new Float64Array(d);
  const acc = new Float64Array(d * d);
  for (let start = 0; start < m; start += rowsPer) {
    const rows = Math.min(rowsPer, m - start);
    const x = buf.subarray(0, rows * d);
    const before = performance.now();
    samples.read(start, rows, x);
    readSeconds += (performance.now() - before) / 1000;
    if (start === 0) {
      const first = new Float64Array(d);
      for (let r = 0; r < rows; r++) for (let k = 0; k < d; k++) first[k] += x[r * d + k];
      for (let k = 0; k < d; k++) shift[k] = first[k] / rows;
    }
    for (let r = 0; r < rows; r++) {
      for (let k = 0; k < d; k++) {
        x[r * d + k] -= shift[k];
        shiftedSum[k] += x[r * d + k];
      }
    }
    kernels.covarianceUpdate(x, rows, d, acc);
  }
  const delta = shiftedSum.map((v) => v / m);
  for (let p = 0; p < d; p++) for (let q = p; q < d; q++) acc[p * d + q] = acc[p * d + q] / m - delta[p] * delta[q];
  const mean = Float32Array.from(delta, (v, k) => shift[k] + v);
  log(`gcn-zca: covariance of ${m} samples in ${lap()} s (reading and GCN ${readSeconds.toFixed(1)} s)`);

  const values = new Float64Array(d);
  kernels.symmetricEigen(acc, d, values); // acc now holds the eigenvectors, one per row
  log(`gcn-zca: eigendecomposition (${d}x${d}) in ${lap()} s`);

  // W = Y^T Y, row k of Y = eigenvector k * (lambda_k + bias)^(-1/4); tiny negative eigenvalues are rounding: clamped.
  const y = new Float32Array(d * d);
  for (let k = 0; k < d; k++) {
    const s = Math.pow(Math.max(values[k], 0) + filterBias, -0.25);
    for (let i = 0; i < d; i++) y[k * d + i] = acc[k * d + i] * s;
  }
  const whitening = new Float32Array(d * d);
  kernels.gramT(y, d, whitening);
  log(`gcn-zca: whitening matrix in ${lap()} s`);
  return { mean, whitening };
}

/**
 * out (b x d) = (g - mean) W for b GCN'd rows g (centred in place): one sgemm on the native addon when it loads (a NIN
 * batch of 128 is 2.4 GFLOP, milliseconds), else plain loops with W's rows reused across the batch while in cache.
 */
export function whiten(g: Float32Array, b: number, d: number, mean: Float32Array, w: Float32Array): Float32Array {
  for (let r = 0; r < b; r++) for (let k = 0; k < d; k++) g[r * d + k] -= mean[k];
  const out = new Float32Array(b * d);
  if (b === 0) return out;
  const addon = loadAddon();
  if (addon) {
    addon.matmul(g, w, out, Int32Array.of(1, 1, b, d, d, 0, 0), null, 0, 0);
    return out;
  }
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
