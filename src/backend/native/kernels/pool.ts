// Native MaxPool, MaxPoolGrad, AvgPool and AvgPoolGrad on fp32 NHWC or resident tensors (tfjs cpu semantics, see
// native/src/pool.cc).
import { backend_util } from '@tensorflow/tfjs';
import type { NamedAttrMap, TensorInfo } from '@tensorflow/tfjs';

import type { NativeBackend } from '../backend.js';
import { blockedBit, input, sizeOf, type NativeKernel } from './common.js';

const KIND = { max: 0, avg: 1 } as const;

/** Int32Array [n, ih, iw, c, oh, ow, kh, kw, sh, sw, padTop, padLeft] for the addon, or undefined when the
 *  geometry is outside what it handles (dilation, padding as large as the window, empty tensors). */
export function poolShape(xShape: readonly number[], attrs: NamedAttrMap): { info: backend_util.Conv2DInfo; shape: Int32Array } | undefined {
  if (xShape.length !== 4) return undefined;
  const info = backend_util.computePool2DInfo(
    xShape as [number, number, number, number], attrs.filterSize as [number, number] | number,
    attrs.strides as [number, number] | number, 1, attrs.pad as 'valid' | 'same' | number,
    attrs.dimRoundingMode as 'floor' | 'round' | 'ceil' | undefined);
  const { top, left } = info.padInfo;
  const shape = Int32Array.from([
    info.batchSize, info.inHeight, info.inWidth, info.inChannels, info.outHeight, info.outWidth, info.filterHeight,
    info.filterWidth, info.strideHeight, info.strideWidth, top, left,
  ]);
  if (!shape.subarray(0, 10).every((d) => d >= 1)) return undefined;
  if (top < 0 || left < 0 || top >= info.filterHeight || left >= info.filterWidth) return undefined;
  if ((info.outHeight - 1) * info.strideHeight - top >= info.inHeight) return undefined;
  if ((info.outWidth - 1) * info.strideWidth - left >= info.inWidth) return undefined;
  return { info, shape };
}

/**
 * Pooling reads resident inputs in their own layout. Its output is resident where its input was (so the layers after
 * a pooled block, dropout and the next convolution, take it with no reorder): a max in the current precision (it
 * copies values, so bf16 loses nothing), an average in fp32 only (in bf16 mode the average is written fp32 NHWC, not
 * rounded). Otherwise fp32 NHWC, as tfjs's own kernel writes it.
 */
function poolForward(kind: keyof typeof KIND): NativeKernel {
  return {
    kernelName: kind === 'max' ? 'MaxPool' : 'AvgPool',
    impl: (inputs, backend: NativeBackend, attrs): TensorInfo | undefined => {
      const x = input(inputs, 'x');
      const xo = x && backend.operand(x, true);
      const geo = x && poolShape(x.shape, attrs);
      if (!xo || !geo) return undefined;
      const outShape = geo.info.outShape;
      const run = (y: Float32Array | Uint16Array, yBlocked: boolean) =>
        backend.addon.poolForward(KIND[kind], geo.shape, xo.v, y, blockedBit(xo, 1) | (yBlocked ? 2 : 0));
      const resident = xo.resident && (kind === 'max' || !backend.bf16()) ? backend.residentOutput(outShape, (view) => run(view, true)) : undefined;
      if (resident) return resident;
      const y = backend.allocFloat32(sizeOf(outShape));
      run(y, false);
      return backend.makeOutput32(outShape, y);
    },
  };
}

/** Gradients read every operand in its own storage; dx is resident in fp32 nChw16c where the pooled input was, in
 *  either precision (a bf16 dx would round the sums of overlapping windows; the ReLU-bias gradient after it reads
 *  fp32 nChw16c as fast as bf16), else fp32 NHWC. */
function poolBackward(kind: keyof typeof KIND): NativeKernel {
  return {
    kernelName: kind === 'max' ? 'MaxPoolGrad' : 'AvgPoolGrad',
    impl: (inputs, backend: NativeBackend, attrs): TensorInfo | undefined => {
      const dy = input(inputs, 'dy'), x = input(inputs, 'input'), y = input(inputs, 'output');
      const dyo = dy && backend.operand(dy, true);
      const xo = x && backend.operand(x, true);
      const geo = x && poolShape(x.shape, attrs);
      if (!dy || !dyo || !x || !xo || !geo || sizeOf(dy.shape) !== sizeOf(geo.info.outShape)) return undefined;
      // Max: the forward output tells which pixel won each window.
      const yo = kind === 'max' ? y && backend.operand(y, true) : null;
      if (yo === undefined || (yo && yo.v.length !== dyo.v.length)) return undefined;
      const run = (dx: Float32Array | Uint16Array, dxBlocked: boolean) => backend.addon.poolBackward(
        KIND[kind], geo.shape, dyo.v, kind === 'max' ? xo.v : null, yo ? yo.v : null, dx,
        blockedBit(dyo, 1) | blockedBit(xo, 2) | (yo ? blockedBit(yo, 4) : 0) | (dxBlocked ? 8 : 0));
      const resident = xo.resident ? backend.residentOutputsOf([{ shape: x.shape.slice(), f32: true }], ([view]) => run(view!, true))?.[0] : undefined;
      if (resident) return resident;
      const dx = backend.allocFloat32(sizeOf(x.shape));
      run(dx, false);
      return backend.makeOutput32(x.shape.slice(), dx);
    },
  };
}

export const poolKernels: NativeKernel[] = [poolForward('max'), poolForward('avg'), poolBackward('max'), poolBackward('avg')];
