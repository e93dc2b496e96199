// Loads the oneDNN addon (native/build/Release/gaplab_native.node) once, after making OpenMP wait passively.
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** Shape and layout codes shared with native/src (see the comments there). */
export const ACTIVATIONS = { linear: 0, relu: 1, relu6: 2, elu: 3, sigmoid: 4, leakyrelu: 5 } as const;
export type ActivationName = keyof typeof ACTIVATIONS;

/** The addon's exports. Every call works on tfjs's own Float32Arrays in place; outputs are written, not returned. */
export interface NativeAddon {
  setThreads(threads: number): void;
  getThreads(): number;
  /** isa: what oneDNN dispatches to, e.g. 'avx512_core_bf16' (absent from addons built before it was added); lapack:
   *  the LAPACK library file symmetricEigen calls (absent when built without LAPACK). */
  info(): { onednn: string; threads: number; openmp: boolean; isa?: string; lapack?: string };
  /** shape: [n, ih, iw, ic, oh, ow, oc, kh, kw, sh, sw, dh, dw, padTop, padLeft, padBottom, padRight].
   *  resident: 1 when the input-shaped operand (x, or dx) is resident, 2 the output-shaped one (y, or dy): oneDNN's
   *  nChw16c, bf16 in a Uint16Array (precision bf16; always resident) or fp32 in a Float32Array (precision fp32). */
  convForward(shape: Int32Array, x: Float32Array | Uint16Array, filter: Float32Array, bias: Float32Array | null, y: Float32Array | Uint16Array,
    activation: number, alpha: number, resident?: number): void;
  convBackwardData(shape: Int32Array, dy: Float32Array | Uint16Array, filter: Float32Array, dx: Float32Array | Uint16Array, resident?: number): void;
  convBackwardWeights(shape: Int32Array, x: Float32Array | Uint16Array, dy: Float32Array | Uint16Array, dw: Float32Array, resident?: number): void;
  setConvLayout(layout: 'plain' | 'blocked' | 'split' | 'auto'): void;
  /** The mode setConvLayout set (absent in addons older than resident activations). */
  getConvLayout?(): 'plain' | 'blocked' | 'split' | 'auto';
  /** 'bf16': convolutions and matmuls may run with bf16 operands (fp32 accumulation and results); throws where
   *  bf16Supported() is false, unless `emulated` (tests: oneDNN's slow emulated kernels). Absent from addons built
   *  before bf16 support, as are the two below. */
  setPrecision?(precision: 'fp32' | 'bf16', emulated?: boolean): void;
  getPrecision?(): 'fp32' | 'bf16';
  /** oneDNN's effective ISA has bf16 dot products (AVX512_BF16, or AMX). */
  bf16Supported?(): boolean;
  convCacheSize(): number;
  /** The layouts auto mode chose (or was given) per convolution key (bf16 mode's keys end in ':bf16'). */
  convChoices(): Array<[string, ConvChoice]>;
  /** Replaces the recorded choices (and drops cached plans): listed shapes then run with the given layout, untimed. */
  setConvChoices(choices: Array<[string, string]>): void;
  /** Whether timing may choose oneDNN's Winograd algorithm for fp32 3x3 convolutions (default true; absent in older
   *  addons). */
  setWinograd?(enabled: boolean): void;
  /** Reserves the address range (not memory) of the addon's heap once per process and returns it as one
   *  ArrayBuffer; null when refused or already reserved. Absent from addons built before it was added, as are the
   *  three below. */
  reserveHeap?(bytes: number): ArrayBuffer | null;
  /** Byte offset in that ArrayBuffer of a free block of `bytes` (64-byte aligned), or -1 when the range is full. */
  heapAlloc?(bytes: number): number;
  /** Returns a block; nothing may use it afterwards. */
  heapFree?(offset: number): void;
  /** Live blocks, their bytes, and the most of the range ever in use (what the heap adds to the RSS at most). */
  heapStats?(): { blocks: number; liveBytes: number; highWaterBytes: number };
  unary(op: number, x: Float32Array, y: Float32Array, alpha: number): void;
  /** Output as dims [d0, d1, d2]; operand strides over them (the last 0 or 1). */
  binary(op: number, a: Float32Array, aStrides: Int32Array, b: Float32Array, bStrides: Int32Array, y: Float32Array,
    dims: Int32Array): void;
  reduce(op: number, x: Float32Array, y: Float32Array, outer: number, reduced: number, inner: number): void;
  fill(y: Float32Array, value: number): void;
  /** Backward of y = relu(z + bias) from y ([rows, channels]): dz = dy where y > 0, else 0; db (optional) = dz summed
   *  over the rows. Absent from addons built before it was added. */
  reluBiasGrad?(dy: Float32Array, y: Float32Array, dz: Float32Array, db: Float32Array | null, channels: number): void;
  /** A resident tensor (oneDNN's nChw16c, [n, c/16, hw, 16]: bfloat16 in a Uint16Array, or fp32) as fp32 NHWC values,
   *  exactly; absent in addons older than resident activations. */
  residentToF32?(src: Uint16Array | Float32Array, dst: Float32Array, channels: number, hw: number): void;
  /** One SGD-momentum update: wOut, mOut from w, g, m (float32, one rounding per operation, as the tfjs ops);
   *  absent in older addons. */
  sgdMomentum?(w: Float32Array, g: Float32Array, m: Float32Array, wOut: Float32Array, mOut: Float32Array, weightDecay: number,
    momentum: number, lr: number, nesterov: boolean): void;
  /** tf.dropout's training pass for one seed: multiplier = floor(u + keep) / keep over seedrandom's Alea, y = x *
   *  multiplier (absent in older addons). `starts` holds [s0, s1, s2, c] per chunk, the draws split into k chunks of
   *  16 * ceil(n / 16k) values (aleaStarts in alea-jump.ts), drawn in parallel. */
  dropoutAlea?(x: Float32Array | Uint16Array, y: Float32Array | Uint16Array, multiplier: Float32Array, starts: Float64Array, keep: number,
    channels?: number, hw?: number): void;
  /** dz = dy * multiplier; blocked bits 1 dy, 2 multiplier, 4 dz mark fp32 nChw16c arrays (a Uint16Array dy is bf16). */
  dropoutGrad?(dy: Float32Array | Uint16Array, multiplier: Float32Array, dz: Float32Array, channels: number, hw: number, blocked: number): void;
  /** Which build of the addon's own vectorized loops runs ('avx512' only where the CPU has it); returns the one in
   *  use. Both give the same bits (absent in older addons). */
  setLoopIsa?(isa: 'avx512' | 'base'): 'avx512' | 'base';
  /** reluBiasGrad writing dz resident (a Uint16Array: bf16, rounded; a Float32Array: fp32), dy and y resident or fp32
   *  NHWC (a Float32Array is resident where `blocked` has bit 1 (dy) or 2 (y)); db sums dz before rounding. */
  reluBiasGradResident?(dy: Float32Array | Uint16Array, y: Float32Array | Uint16Array, dz: Uint16Array | Float32Array, db: Float32Array,
    channels: number, hw: number, blocked?: number): void;
  /** kind 0 = max, 1 = avg; shape: [n, ih, iw, c, oh, ow, kh, kw, sh, sw, padTop, padLeft]. Operands are fp32
   *  NHWC, fp32 nChw16c (Float32Arrays with their `blocked` bit: 1 x, 2 y) or bf16 nChw16c (Uint16Arrays). */
  poolForward(kind: number, shape: Int32Array, x: Float32Array | Uint16Array, y: Float32Array | Uint16Array, blocked?: number): void;
  /** x and y (the forward output) for max pooling, null for average; blocked bits 1 dy, 2 x, 4 y, 8 dx. */
  poolBackward(kind: number, shape: Int32Array, dy: Float32Array | Uint16Array, x: Float32Array | Uint16Array | null,
    y: Float32Array | Uint16Array | null, dx: Float32Array | Uint16Array, blocked?: number): void;
  /** dims: [batchA, batchB, m, n, k, transposeA, transposeB]. */
  matmul(a: Float32Array, b: Float32Array, y: Float32Array, dims: Int32Array, bias: Float32Array | null,
    activation: number, alpha: number): void;
  /** Batch norm over the last axis; see native/src/batchnorm.cc. */
  batchNormForward(x: Float32Array, mean: Float32Array, variance: Float32Array, offset: Float32Array | null,
    scale: Float32Array | null, y: Float32Array, channels: number, epsilon: number): void;
  batchNormBackward(dy: Float32Array, x: Float32Array, mean: Float32Array, variance: Float32Array,
    scale: Float32Array | null, dx: Float32Array, dmean: Float32Array, dvariance: Float32Array, dscale: Float32Array,
    doffset: Float32Array, channels: number, epsilon: number): void;
  /** acc (d x d, row-major) += x^T x for x (rows x d), on and above the diagonal; see native/src/linalg.cc. Absent
   *  from addons built before it was added. */
  covarianceUpdate?(x: Float32Array, rows: number, d: number, acc: Float64Array): void;
  /** LAPACK dsyevd of symmetric a (n x n, upper triangle read): ascending values, eigenvector k into row k of a.
   *  Only in addons built with LAPACK. */
  symmetricEigen?(a: Float64Array, n: number, values: Float64Array): void;
}

/** A layout auto mode can pick for one convolution (see Layout in native/src/conv.cc). */
export type ConvChoice = 'plain' | 'blocked' | 'split' | 'plain-bf16' | 'blocked-bf16' | 'split-bf16' | 'winograd';

/** Env var that hides the addon (tests and users can force the other backends). */
export const DISABLE_ENV = 'GAPLAB_DISABLE_NATIVE';
/** Env var with another path to the .node file. */
export const ADDON_PATH_ENV = 'GAPLAB_NATIVE_ADDON';

let cached: { addon?: NativeAddon; error?: string } | undefined;

/** Where the build puts the addon: <repo>/native/build/Release/gaplab_native.node. */
export function addonPath(): string {
  const override = process.env[ADDON_PATH_ENV];
  if (override) return override;
  return fileURLToPath(new URL('../../../native/build/Release/gaplab_native.node', import.meta.url));
}

/** The addon, loading it on first use; undefined when it is disabled, not built, or fails to load (see addonError). */
export function loadAddon(): NativeAddon | undefined {
  // Checked on every call, so a test or caller can hide an already loaded addon.
  if (process.env[DISABLE_ENV] === '1') return undefined;
  if (cached) return cached.addon;
  const path = addonPath();
  if (!existsSync(path)) {
    cached = { error: `${path} not built (apt-get install libdnnl-dev, then npm run build:native)` };
    return undefined;
  }
  // OMP_WAIT_POLICY is left as the user set it (libgomp reads it once, when oneDNN loads): unset, idle threads spin
  // about 3 ms before they sleep, a few percent faster per step than sleeping at once (docs/native-backend.md);
  // compare sets it to passive for runs trained side by side (waitPolicyFor in src/compare/execute.ts).
  try {
    const require = createRequire(import.meta.url);
    cached = { addon: require(path) as NativeAddon };
  } catch (e) {
    cached = { error: `${path} failed to load: ${e instanceof Error ? e.message : String(e)}` };
  }
  return cached.addon;
}

/** Why loadAddon() returned undefined (undefined when it loaded). */
export function addonError(): string | undefined {
  if (process.env[DISABLE_ENV] === '1') return `disabled by ${DISABLE_ENV}=1`;
  loadAddon();
  return cached?.error;
}
