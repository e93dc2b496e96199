// Native Sum, Mean, Max and Min over any set of axes that is contiguous once size-1 dims are ignored (bias
// gradients: N,H,W of NHWC; global average pooling: H,W), without the transpose the cpu kernels make.
import { util } from '@tensorflow/tfjs';
import type { NamedAttrMap, TensorInfo } from '@tensorflow/tfjs';

import type { NativeBackend } from '../backend.js';
import { boolAttr, input, sizeOf, type NativeKernel } from './common.js';

const REDUCE = { Sum: 0, Mean: 1, Max: 2, Min: 3 } as const;

export interface ReducePlan {
  outer: number;
  reduced: number;
  inner: number;
  outShape: number[];
}

/** Splits the input into [outer, reduced, inner] when the reduced axes are one contiguous block. */
export function reducePlan(shape: readonly number[], axes: readonly number[], keepDims: boolean): ReducePlan | undefined {
  const set = new Set(axes);
  // Size-1 dims do not change the memory order, so they may sit anywhere.
  const dims = shape.map((d, i) => ({ d, reduced: set.has(i) })).filter((e) => e.d !== 1);
  const first = dims.findIndex((e) => e.reduced);
  let last = -1;
  dims.forEach((e, i) => {
    if (e.reduced) last = i;
  });
  const outShape = keepDims ? shape.map((d, i) => (set.has(i) ? 1 : d)) : shape.filter((_, i) => !set.has(i));
  if (first < 0) return { outer: sizeOf(shape), reduced: 1, inner: 1, outShape };
  for (let i = first; i <= last; i++) if (!dims[i]!.reduced) return undefined;
  const prod = (from: number, to: number) => sizeOf(dims.slice(from, to).map((e) => e.d));
  return { outer: prod(0, first), reduced: prod(first, last + 1), inner: prod(last + 1, dims.length), outShape };
}

function reduceKernel(kernelName: keyof typeof REDUCE): NativeKernel {
  return {
    kernelName,
    impl: (inputs, backend: NativeBackend, attrs: NamedAttrMap): TensorInfo | undefined => {
      const x = input(inputs, 'x');
      const xv = x && backend.f32(x);
      if (!x || !xv || xv.length === 0) return undefined;
      // Max names its axes reductionIndices; the others call them axis.
      const axis = (kernelName === 'Max' ? attrs.reductionIndices : attrs.axis) as number | number[];
      const axes = util.parseAxisParam(axis, x.shape);
      const plan = reducePlan(x.shape, axes, boolAttr(attrs, 'keepDims', false));
      if (!plan) return undefined;
      const y = backend.allocFloat32(plan.outer * plan.inner);
      backend.addon.reduce(REDUCE[kernelName], xv, y, plan.outer, plan.reduced, plan.inner);
      return backend.makeOutput32(plan.outShape, y);
    },
  };
}

export const reduceKernels: NativeKernel[] = [reduceKernel('Sum'), reduceKernel('Mean'), reduceKernel('Max'), reduceKernel('Min')];
