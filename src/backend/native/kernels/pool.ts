// Native MaxPool, MaxPoolGrad, AvgPool and AvgPoolGrad on NHWC tensors (tfjs cpu semantics, see native/src/pool.cc).
import { backend_util } from '@tensorflow/tfjs';
import type { NamedAttrMap, TensorInfo } from '@tensorflow/tfjs';

import type { NativeBackend } from '../backend.js';
import { input, sizeOf, type NativeKernel } from './common.js';

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

function poolForward(kind: keyof typeof KIND): NativeKernel {
  return {
    kernelName: kind === 'max' ? 'MaxPool' : 'AvgPool',
    impl: (inputs, backend: NativeBackend, attrs): TensorInfo | undefined => {
      const x = input(inputs, 'x');
      const xv = x && backend.f32(x);
      const geo = x && poolShape(x.shape, attrs);
      if (!xv || !geo) return undefined;
      const y = backend.allocFloat32(sizeOf(geo.info.outShape));
      backend.addon.poolForward(KIND[kind], geo.shape, xv, y);
      return backend.makeOutput32(geo.info.outShape, y);
    },
  };
}

function poolBackward(kind: keyof typeof KIND): NativeKernel {
  return {
    kernelName: kind === 'max' ? 'MaxPoolGrad' : 'AvgPoolGrad',
    impl: (inputs, backend: NativeBackend, attrs): TensorInfo | undefined => {
      const dy = input(inputs, 'dy'), x = input(inputs, 'input'), y = input(inputs, 'output');
      const dyv = dy && backend.f32(dy);
      const xv = x && backend.f32(x);
      const geo = x && poolShape(x.shape, attrs);
      if (!dy || !dyv || !x || !xv || !geo || sizeOf(dy.shape) !== sizeOf(geo.info.outShape)) return undefined;
      // Max: the forward output tells which pixel won each window.
      const yv = kind === 'max' ? y && backend.f32(y) : null;
      if (yv === undefined || (yv && yv.length !== dyv.length)) return undefined;
      const dx = backend.allocFloat32(xv.length);
      backend.addon.poolBackward(KIND[kind], geo.shape, dyv, kind === 'max' ? xv : null, yv, dx);
      return backend.makeOutput32(x.shape.slice(), dx);
    },
  };
}

export const poolKernels: NativeKernel[] = [poolForward('max'), poolForward('avg'), poolBackward('max'), poolBackward('avg')];
