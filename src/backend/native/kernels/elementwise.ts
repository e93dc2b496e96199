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
  Add: 0, Sub: 1, Multiply: 2, RealDiv: 3, Maximum: 4, Minimum: 5, SquaredDifference: 6, ReluGrad: 7, SquareGrad: 8,
} as const;

/** Custom kernels behind the gradient overrides of gradients.ts, each one pass instead of tfjs's chain of ops:
 *  ReLU (dy where x > 0), Square (dy * 2x), and Mean (dy broadcast back over the reduced axes, divided by their size). */
export const RELU_GRAD = 'GaplabReluGrad';
export const SQUARE_GRAD = 'GaplabSquareGrad';
export const BROADCAST_DIV = 'GaplabBroadcastDiv';

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

/**
 * A broadcast collapsed to at most three output dims [d0, d1, d2], with each operand's strides over them (the last
 * 0 or 1): size-1 output dims are dropped and neighbouring dims merged while both operands keep the same
 * present/broadcast pattern. Covers bias [C], per-image [N,1,1,C], per-row [N,1], scalars and same-shape operands.
 */
export interface BroadcastPlan {
  outShape: number[];
  dims: [number, number, number];
  aStrides: Int32Array;
  bStrides: Int32Array;
}

export function broadcastPlan(a: readonly number[], b: readonly number[]): BroadcastPlan | undefined {
  let outShape: number[];
  try {
    outShape = backend_util.assertAndGetBroadcastShape(a as number[], b as number[]);
  } catch {
    return undefined;
  }
  const pad = (s: readonly number[]) => new Array<number>(outShape.length - s.length).fill(1).concat(s);
  const pa = pad(a), pb = pad(b);
  // Segments of merged dims: size and whether each operand spans them.
  const segs: { size: number; inA: boolean; inB: boolean }[] = [];
  outShape.forEach((d, i) => {
    if (d === 1) return;
    const inA = pa[i] === d, inB = pb[i] === d;
    const last = segs[segs.length - 1];
    if (last && last.inA === inA && last.inB === inB) last.size *= d;
    else segs.push({ size: d, inA, inB });
  });
  if (segs.length > 3) return undefined;
  while (segs.length < 3) segs.unshift({ size: 1, inA: false, inB: false });
  // Row-major strides over the dims an operand spans; 0 over the dims it is broadcast along.
  const strides = (key: 'inA' | 'inB') => {
    const st = new Int32Array(3);
    let step = 1;
    for (let i = 2; i >= 0; i--) {
      if (segs[i]![key]) {
        st[i] = step;
        step *= segs[i]!.size;
      }
    }
    return st;
  };
  return { outShape, dims: [segs[0]!.size, segs[1]!.size, segs[2]!.size], aStrides: strides('inA'), bStrides: strides('inB') };
}

export function binary(backend: NativeBackend, op: number, a: TensorInfo, b: TensorInfo): TensorInfo | undefined {
  const av = backend.f32(a), bv = backend.f32(b);
  if (!av || !bv) return undefined;
  const plan = broadcastPlan(a.shape, b.shape);
  if (!plan || sizeOf(plan.outShape) === 0) return undefined;
  const y = backend.allocFloat32(sizeOf(plan.outShape));
  backend.addon.binary(op, av, plan.aStrides, bv, plan.bStrides, y, Int32Array.from(plan.dims));
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

function gradKernel(kernelName: string, op: number): NativeKernel {
  return {
    kernelName,
    impl: (inputs, backend) => {
      const dy = input(inputs, 'dy'), x = input(inputs, 'x');
      if (!dy || !x) throw new Error(`${kernelName} needs inputs dy and x`);
      // An empty batch has an empty gradient (binary() leaves empty outputs to the cpu kernels, and these have none).
      if (sizeOf(x.shape) === 0 && dy.shape.join() === x.shape.join()) return backend.makeOutput32(x.shape.slice(), new Float32Array(0));
      const out = binary(backend, op, dy, x);
      if (!out) throw new Error(`${kernelName}: dy ${dy.dtype}[${dy.shape}] and x ${x.dtype}[${x.shape}] must be float32 of one shape`);
      return out;
    },
  };
}

/** y (attr shape) = x broadcast to shape, divided by attr divisor; callers check broadcastPlan(x.shape, shape) first. */
const broadcastDiv: NativeKernel = {
  kernelName: BROADCAST_DIV,
  impl: (inputs, backend, attrs) => {
    const x = input(inputs, 'x');
    const shape = attrs.shape as number[];
    const xv = x && backend.f32(x);
    const plan = x && broadcastPlan(x.shape, shape);
    if (!xv || !plan || plan.outShape.join() !== shape.join()) throw new Error(`${BROADCAST_DIV}: cannot broadcast to [${shape}]`);
    // Mean's gradient over an empty batch: nothing to write (the addon takes dims >= 1 only).
    if (sizeOf(shape) === 0) return backend.makeOutput32(shape.slice(), new Float32Array(0));
    const y = backend.allocFloat32(sizeOf(shape));
    backend.addon.binary(BINARY.RealDiv, xv, plan.aStrides, Float32Array.of(numAttr(attrs, 'divisor', 1)), new Int32Array(3), y,
      Int32Array.from(plan.dims));
    return backend.makeOutput32(shape.slice(), y);
  },
};

/** Fill (ones, zeros, ...) into a pooled buffer: tfjs's Mean gradient asks for a full-size ones tensor. */
const fill: NativeKernel = {
  kernelName: 'Fill',
  impl: (_inputs, backend, attrs) => {
    const shape = attrs.shape as number[];
    const value = attrs.value;
    const dtype = attrs.dtype ?? (typeof value === 'number' ? 'float32' : undefined);
    if (dtype !== 'float32' || typeof value !== 'number') return undefined;
    const y = backend.allocFloat32(sizeOf(shape));
    backend.addon.fill(y, value);
    return backend.makeOutput32(shape.slice(), y);
  },
};

export const elementwiseKernels: NativeKernel[] = [
  unaryKernel('Relu'), unaryKernel('Relu6'), unaryKernel('Step', 'alpha', 0), unaryKernel('Floor'),
  unaryKernel('Neg'), unaryKernel('Square'), unaryKernel('Sqrt'), unaryKernel('Rsqrt'), unaryKernel('Exp'),
  unaryKernel('Log'), unaryKernel('Sigmoid'), unaryKernel('Tanh'), unaryKernel('Abs'), unaryKernel('Elu'),
  unaryKernel('LeakyRelu', 'alpha', 0.2),
  binaryKernel('Add'), binaryKernel('Sub'), binaryKernel('Multiply'), binaryKernel('RealDiv'),
  binaryKernel('Maximum'), binaryKernel('Minimum'), binaryKernel('SquaredDifference'),
  gradKernel(RELU_GRAD, BINARY.ReluGrad), gradKernel(SQUARE_GRAD, BINARY.SquareGrad), broadcastDiv, fill,
];
