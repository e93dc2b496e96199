// Native elementwise kernels: activations and their gradient, dropout's Floor/Add/RealDiv/Multiply, bias add and
// residual add, with the broadcasts NHWC layers use (same shape, per-channel vector, per-row value, scalar).
import { backend_util } from '@tensorflow/tfjs';
import type { TensorInfo } from '@tensorflow/tfjs';

import type { NativeBackend } from '../backend.js';
import { input, numAttr, sizeOf, type NativeKernel } from './common.js';

/** Op codes of native/src/eltwise.cc. */
const UNARY = {
  Relu: 0, Relu6: 1, Step: 2, Floor: 3, Neg: 4, Square: 5, Sqrt: 6, Rsqrt: 7, Exp: 8, Log: 9, Sigmoid: 10, Tanh: 11,
  Abs: 12, Elu: 13, LeakyRelu: 14,
} as const;
const BINARY = {
  Add: 0, Sub: 1, Multiply: 2, RealDiv: 3, Maximum: 4, Minimum: 5, SquaredDifference: 6, ReluGrad: 7,
} as const;
/** Operand broadcast modes over the output seen as [outer, inner]. */
const MODE = { full: 0, row: 1, col: 2, scalar: 3 } as const;
type Mode = (typeof MODE)[keyof typeof MODE];

/** Name of the kernel computing the ReLU gradient in one pass (dy where x > 0); see gradients.ts. */
export const RELU_GRAD = 'GaplabReluGrad';

function unaryKernel(kernelName: keyof typeof UNARY, alphaAttr?: string, alphaDefault = 0): NativeKernel {
  return {
    kernelName,
    impl: (inputs, backend, attrs) => {
      const x = input(inputs, 'x');
      const xv = x && backend.f32(x);
      if (!x || !xv || xv.length === 0) return undefined;
      const y = backend.allocFloat32(xv.length);
      backend.addon.unary(UNARY[kernelName], xv, y, alphaAttr ? numAttr(attrs, alphaAttr, alphaDefault) : 0);
      return backend.makeOutput32(x.shape.slice(), y);
    },
  };
}

/** How one operand (right-aligned, padded with 1s to the output's rank) broadcasts when the output is split into
 *  [outer = dims before j, inner = dims from j on], or undefined when it does not fit that split. */
function modeAt(shape: readonly number[], out: readonly number[], j: number): Mode | undefined {
  const p = new Array<number>(out.length - shape.length).fill(1).concat(shape);
  if (p.every((d, i) => d === out[i])) return MODE.full;
  if (p.every((d) => d === 1)) return MODE.scalar;
  if (p.every((d, i) => (i < j ? d === 1 : d === out[i]))) return MODE.row;
  if (p.every((d, i) => (i < j ? d === out[i] : d === 1))) return MODE.col;
  return undefined;
}

export interface BroadcastPlan {
  outShape: number[];
  outer: number;
  inner: number;
  aMode: Mode;
  bMode: Mode;
}

/** The [outer, inner] split under which both operands broadcast in a mode the addon knows, if there is one. */
export function broadcastPlan(a: readonly number[], b: readonly number[]): BroadcastPlan | undefined {
  let outShape: number[];
  try {
    outShape = backend_util.assertAndGetBroadcastShape(a as number[], b as number[]);
  } catch {
    return undefined;
  }
  for (let j = 0; j <= outShape.length; j++) {
    const aMode = modeAt(a, outShape, j), bMode = modeAt(b, outShape, j);
    if (aMode === undefined || bMode === undefined) continue;
    return { outShape, outer: sizeOf(outShape.slice(0, j)), inner: sizeOf(outShape.slice(j)), aMode, bMode };
  }
  return undefined;
}

export function binary(backend: NativeBackend, op: number, a: TensorInfo, b: TensorInfo): TensorInfo | undefined {
  const av = backend.f32(a), bv = backend.f32(b);
  if (!av || !bv) return undefined;
  const plan = broadcastPlan(a.shape, b.shape);
  if (!plan || plan.outer * plan.inner === 0) return undefined;
  const y = backend.allocFloat32(plan.outer * plan.inner);
  backend.addon.binary(op, av, plan.aMode, bv, plan.bMode, y, plan.outer, plan.inner);
  return backend.makeOutput32(plan.outShape, y);
}

function binaryKernel(kernelName: keyof typeof BINARY): NativeKernel {
  return {
    kernelName,
    impl: (inputs, backend) => {
      const a = input(inputs, 'a'), b = input(inputs, 'b');
      return a && b ? binary(backend, BINARY[kernelName], a, b) : undefined;
    },
  };
}

/** dx = dy where x > 0 else 0, in one pass instead of tfjs's Step + Cast + Multiply. */
const reluGrad: NativeKernel = {
  kernelName: RELU_GRAD,
  impl: (inputs, backend) => {
    const dy = input(inputs, 'dy'), x = input(inputs, 'x');
    if (!dy || !x) throw new Error(`${RELU_GRAD} needs inputs dy and x`);
    const out = binary(backend, BINARY.ReluGrad, dy, x);
    if (!out) throw new Error(`${RELU_GRAD}: dy ${dy.dtype}[${dy.shape}] and x ${x.dtype}[${x.shape}] must be float32 of one shape`);
    return out;
  },
};

export const elementwiseKernels: NativeKernel[] = [
  unaryKernel('Relu'), unaryKernel('Relu6'), unaryKernel('Step', 'alpha', 0), unaryKernel('Floor'),
  unaryKernel('Neg'), unaryKernel('Square'), unaryKernel('Sqrt'), unaryKernel('Rsqrt'), unaryKernel('Exp'),
  unaryKernel('Log'), unaryKernel('Sigmoid'), unaryKernel('Tanh'), unaryKernel('Abs'), unaryKernel('Elu'),
  unaryKernel('LeakyRelu', 'alpha', 0.2),
  binaryKernel('Add'), binaryKernel('Sub'), binaryKernel('Multiply'), binaryKernel('RealDiv'),
  binaryKernel('Maximum'), binaryKernel('Minimum'), binaryKernel('SquaredDifference'),
  reluGrad,
];
