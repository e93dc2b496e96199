// Preprocessors fitted on the training set (standardize, GCN + ZCA, none); serializable so CAM/inference reuse them.
import * as tf from '@tensorflow/tfjs';
import { z } from 'zod';
import { NATIVE_BACKEND_NAME } from '../backend/native/gradients.js';
import { UserError } from '../errors.js';
import { loadZcaCache, saveZcaCache, zcaCacheUnwritable, zcaFit } from './zca-cache.js';
import { DEFAULT_GCN_ZCA, fitZca, gcn, whiten, zcaKernels, type GcnZcaParams } from './zca.js';
import type { ImageSet } from './types.js';

export type PreprocessingKind = 'standardize' | 'gcn-zca' | 'none';

/** Turns uint8 NHWC images into the float32 NHWC values a model sees. */
export interface Preprocessor {
  kind: string;
  /** images: n*h*w*c uint8 (NHWC) -> float32 of the same layout. */
  toFloat(images: Uint8Array, n: number, h: number, w: number, c: number): Float32Array;
  /** Everything needed to rebuild it with preprocessorFromJSON. */
  toJSON(): object;
}

export interface FitOptions {
  /** gcn-zca: fit on at most this many training images (evenly spaced; default DEFAULT_ZCA_SAMPLES). */
  maxSamples?: number;
  /** gcn-zca: folder for fitted whitening matrices, keyed by a hash of the sampled pixels; reused on later runs. */
  cacheDir?: string;
  /** gcn-zca: GCN/ZCA constants (pylearn2's CIFAR-10 values by default). */
  params?: Partial<GcnZcaParams>;
  log?: (line: string) => void;
  /** gcn-zca: a cache that is damaged or cannot be written (one line each; the fit goes on). Defaults to `log`. */
  warn?: (line: string) => void;
}

/**
 * Default cap on the images used to fit ZCA: all of CIFAR's 50,000 training images (the covariance costs
 * samples * d^2 / 2 multiply-adds: seconds on the native path). The same on every path, so a fit, and its cache file,
 * does not depend on whether the machine has LAPACK.
 */
export const DEFAULT_ZCA_SAMPLES = 50_000;

function checkSize(h: number, w: number, c: number, fitted: { h: number; w: number; c: number }, kind: string): void {
  if (h !== fitted.h || w !== fitted.w || c !== fitted.c) {
    throw new UserError(
      `${kind} preprocessing was fitted on ${fitted.h}x${fitted.w}x${fitted.c} images; got ${h}x${w}x${c}`,
    );
  }
}

/** Maps each uint8 value of channel k through lut[k * 256 + value]: standardize and none are both lookups. */
function lookup(images: Uint8Array, n: number, h: number, w: number, c: number, lut: Float32Array): Float32Array {
  const len = n * h * w * c;
  const out = new Float32Array(len);
  for (let p = 0; p < len; p += c) for (let k = 0; k < c; k++) out[p + k] = lut[k * 256 + images[p + k]];
  return out;
}

/** x / 255. */
class ScalePreprocessor implements Preprocessor {
  readonly kind = 'none';
  private readonly lut = new Float32Array(256);
  constructor() {
    for (let v = 0; v < 256; v++) this.lut[v] = v / 255;
  }
  toFloat(images: Uint8Array, n: number, h: number, w: number, c: number): Float32Array {
    const lut = c === 1 ? this.lut : repeatLut(this.lut, c);
    return lookup(images, n, h, w, c, lut);
  }
  toJSON(): object {
    return { kind: this.kind };
  }
}

function repeatLut(lut: Float32Array, c: number): Float32Array {
  const out = new Float32Array(256 * c);
  for (let k = 0; k < c; k++) out.set(lut, k * 256);
  return out;
}

/** (x - mean_c) / std_c with per-channel statistics of the training pixels (0..255 units). */
class StandardizePreprocessor implements Preprocessor {
  readonly kind = 'standardize';
  private readonly lut: Float32Array;
  constructor(
    readonly mean: number[],
    readonly std: number[],
  ) {
    this.lut = new Float32Array(256 * mean.length);
    for (let k = 0; k < mean.length; k++) for (let v = 0; v < 256; v++) this.lut[k * 256 + v] = (v - mean[k]) / std[k];
  }
  toFloat(images: Uint8Array, n: number, h: number, w: number, c: number): Float32Array {
    if (c !== this.mean.length) {
      throw new UserError(`standardize preprocessing was fitted on ${this.mean.length}-channel images; got ${c} channels`);
    }
    return lookup(images, n, h, w, c, this.lut);
  }
  toJSON(): object {
    return { kind: this.kind, mean: this.mean, std: this.std };
  }
}

/** Backends whose tensors live in JavaScript memory: whitening runs in whiten() (the addon's sgemm or loops). And
 *  webgpu: in Node it has no synchronous read (dataSync needs OffscreenCanvas), which toFloat would need. */
const CPU_BACKENDS = new Set(['cpu', NATIVE_BACKEND_NAME, 'webgpu']);

/** Per-image GCN, then (g - mean) W with the ZCA matrix W (d x d, d = h*w*c). */
class GcnZcaPreprocessor implements Preprocessor {
  readonly kind = 'gcn-zca';
  constructor(
    readonly size: { h: number; w: number; c: number },
    readonly params: GcnZcaParams,
    readonly mean: Float32Array,
    readonly whitening: Float32Array,
    readonly samples: number,
  ) {}
  toFloat(images: Uint8Array, n: number, h: number, w: number, c: number): Float32Array {
    checkSize(h, w, c, this.size, this.kind);
    const d = h * w * c;
    const g = new Float32Array(n * d);
    for (let i = 0; i < n; i++) gcn(images, i * d, d, this.params, g, i * d);
    // One GEMM per batch. On the CPU backends (cpu, native) the addon's sgemm when it loads, else plain loops; on
    // another backend (tfjs-node-gpu) its own matMul, on the device. Before anything initialized a backend getBackend()
    // is undefined, and the first call alone would take the matMul path (different float rounding from later calls).
    tf.backend();
    if (n === 0 || CPU_BACKENDS.has(tf.getBackend())) return whiten(g, n, d, this.mean, this.whitening);
    return tf.tidy(() => {
      const x = tf.sub(tf.tensor2d(g, [n, d]), tf.tensor1d(this.mean));
      return tf.matMul(x, tf.tensor2d(this.whitening, [d, d])).dataSync() as Float32Array;
    });
  }
  toJSON(): object {
    return {
      kind: this.kind,
      height: this.size.h,
      width: this.size.w,
      channels: this.size.c,
      ...this.params,
      samples: this.samples,
      // Float32 bytes as base64: about 50 MB of JSON for CIFAR's 3072 x 3072 matrix.
      mean: Buffer.from(this.mean.buffer, this.mean.byteOffset, this.mean.byteLength).toString('base64'),
      whitening: Buffer.from(this.whitening.buffer, this.whitening.byteOffset, this.whitening.byteLength).toString('base64'),
    };
  }
}

/** Per-channel mean and standard deviation (population) of all training pixels, exact via 256-bin histograms. */
function channelStats(set: ImageSet): { mean: number[]; std: number[] } {
  const c = set.channels;
  const hist = new Float64Array(256 * c);
  const len = set.n * set.height * set.width * c;
  for (let p = 0; p < len; p += c) for (let k = 0; k < c; k++) hist[k * 256 + set.images[p + k]]++;
  const mean: number[] = [];
  const std: number[] = [];
  for (let k = 0; k < c; k++) {
    let count = 0;
    let sum = 0;
    for (let v = 0; v < 256; v++) {
      count += hist[k * 256 + v];
      sum += v * hist[k * 256 + v];
    }
    const m = sum / count;
    let ss = 0;
    for (let v = 0; v < 256; v++) ss += (v - m) * (v - m) * hist[k * 256 + v];
    const s = Math.sqrt(ss / count);
    mean.push(m);
    // A constant channel has no spread to divide by: leave it centred only.
    std.push(s > 1e-6 ? s : 1);
  }
  return { mean, std };
}

function fitGcnZca(train: ImageSet, opts: FitOptions): GcnZcaPreprocessor {
  const params: GcnZcaParams = { ...DEFAULT_GCN_ZCA, ...opts.params };
  const size = { h: train.height, w: train.width, c: train.channels };
  const d = size.h * size.w * size.c;
  const m = Math.min(train.n, opts.maxSamples ?? DEFAULT_ZCA_SAMPLES);
  const log = opts.log ?? (() => {});
  const warn = opts.warn ?? log;
  // Evenly spaced images: deterministic and spread over the whole (already shuffled-by-split) training set.
  const indices = Array.from({ length: m }, (_, k) => Math.floor((k * train.n) / m));
  // Where the fit is cached, and what identifies it (shape, constants, sampled pixels): the file is keyed and checked by it.
  const cache = opts.cacheDir ? { dir: opts.cacheDir, fit: zcaFit(train, indices, params) } : undefined;
  let saveCache = false;
  if (cache) {
    const found = loadZcaCache(cache.dir, cache.fit);
    if (found.kind === 'hit') {
      log(`gcn-zca: reusing whitening matrix ${found.file}`);
      return new GcnZcaPreprocessor(size, params, found.mean, found.whitening, m);
    }
    if (found.kind === 'bad') warn(`gcn-zca: the cached whitening matrix ${found.file} ${found.reason}; fitting it again`);
    // Checked before the fit (minutes without LAPACK), so the fit is never lost to an unwritable cache afterwards.
    const unwritable = zcaCacheUnwritable(cache.dir);
    if (unwritable) warn(`gcn-zca: cannot write the ZCA cache in ${cache.dir} (${unwritable}); fitting without saving it`);
    saveCache = !unwritable;
  }
  const started = Date.now();
  const { kernels, fallback } = zcaKernels();
  log(`gcn-zca: fitting ZCA on ${m} images of ${d} values (a ${d}x${d} eigendecomposition) with ${kernels.detail}`);
  if (fallback) {
    log(`gcn-zca: slow: minutes for CIFAR-sized images in JavaScript (${fallback}; apt-get install liblapacke-dev ` +
      'libopenblas0-openmp, then npm run build:native)');
  }
  const samples = {
    m,
    d,
    read: (start: number, rows: number, out: Float32Array) => {
      for (let r = 0; r < rows; r++) gcn(train.images, indices[start + r] * d, d, params, out, r * d);
    },
  };
  const { mean, whitening } = fitZca(samples, params.filterBias, kernels, log);
  log(`gcn-zca: fitted in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  if (cache && saveCache) {
    const saved = saveZcaCache(cache.dir, cache.fit, mean, whitening);
    if (saved.error) warn(`gcn-zca: could not save the ZCA cache ${saved.file} (${saved.error}); continuing without it`);
    else log(`gcn-zca: saved ${saved.file}`);
  }
  return new GcnZcaPreprocessor(size, params, mean, whitening, m);
}

/** Fits a preprocessor on the training set only (never on validation or test images). */
export function fitPreprocessor(kind: PreprocessingKind, train: ImageSet, opts: FitOptions = {}): Preprocessor {
  if (train.n === 0) throw new UserError(`${kind} preprocessing: the training set is empty; nothing to fit on`);
  switch (kind) {
    case 'none':
      return new ScalePreprocessor();
    case 'standardize': {
      const { mean, std } = channelStats(train);
      return new StandardizePreprocessor(mean, std);
    }
    case 'gcn-zca':
      return fitGcnZca(train, opts);
  }
}

const finite = z.number().finite();
const jsonSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('none') }),
  z.object({ kind: z.literal('standardize'), mean: z.array(finite).min(1), std: z.array(finite.positive()).min(1) }),
  z.object({
    kind: z.literal('gcn-zca'),
    height: z.number().int().positive(),
    width: z.number().int().positive(),
    channels: z.number().int().positive(),
    scale: finite.positive(),
    sqrtBias: finite.nonnegative(),
    filterBias: finite.positive(),
    samples: z.number().int().positive(),
    mean: z.string(),
    whitening: z.string(),
  }),
]);

function floatsFromBase64(b64: string, count: number, what: string, source: string): Float32Array {
  const bytes = Buffer.from(b64, 'base64');
  if (bytes.length !== count * 4) {
    throw new UserError(`${source}: ${what} holds ${bytes.length} bytes; expected ${count * 4} (${count} float32 values)`);
  }
  const out = new Float32Array(count);
  new Uint8Array(out.buffer).set(bytes);
  return out;
}

/** Rebuilds a preprocessor saved with toJSON(); `source` (e.g. the file path) names it in error messages. */
export function preprocessorFromJSON(json: object, source = 'preprocessor JSON'): Preprocessor {
  const parsed = jsonSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new UserError(`${source}: ${issue.path.join('.') || '(root)'}: ${issue.message}`);
  }
  const j = parsed.data;
  switch (j.kind) {
    case 'none':
      return new ScalePreprocessor();
    case 'standardize':
      if (j.mean.length !== j.std.length) {
        throw new UserError(`${source}: mean has ${j.mean.length} channels but std has ${j.std.length}`);
      }
      return new StandardizePreprocessor(j.mean, j.std);
    case 'gcn-zca': {
      const d = j.height * j.width * j.channels;
      const mean = floatsFromBase64(j.mean, d, 'mean', source);
      const whitening = floatsFromBase64(j.whitening, d * d, 'whitening', source);
      const params = { scale: j.scale, sqrtBias: j.sqrtBias, filterBias: j.filterBias };
      return new GcnZcaPreprocessor({ h: j.height, w: j.width, c: j.channels }, params, mean, whitening, j.samples);
    }
  }
}
