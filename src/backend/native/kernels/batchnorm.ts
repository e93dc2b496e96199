// Native FusedBatchNorm (NHWC, statistics over the last axis) and the one-pass gradient kernel behind its override.
import type { NamedAttrMap, TensorInfo } from '@tensorflow/tfjs';

import type { NativeBackend } from '../backend.js';
import { input, numAttr, type NativeKernel } from './common.js';

/** Name of the kernel computing all five FusedBatchNorm gradients at once; see gradients.ts. */
export const BATCH_NORM_GRAD = 'GaplabBatchNormGrad';

/** A per-channel parameter as `channels` floats: its own buffer when it has that many, expanded when a scalar. */
function perChannel(backend: NativeBackend, t: TensorInfo | undefined, channels: number): Float32Array | null | undefined {
  if (!t) return null;
  const v = backend.f32(t);
  if (!v) return undefined;
  if (v.length === channels) return v;
  if (v.length === 1) return new Float32Array(channels).fill(v[0]!);
  return undefined;
}

const fusedBatchNorm: NativeKernel = {
  kernelName: 'FusedBatchNorm',
  impl: (inputs, backend, attrs: NamedAttrMap) => {
    const x = input(inputs, 'x');
    const xv = x && backend.f32(x);
    if (!x || !xv || xv.length === 0 || x.shape.length < 1) return undefined;
    const c = x.shape[x.shape.length - 1]!;
    const mean = perChannel(backend, input(inputs, 'mean'), c), variance = perChannel(backend, input(inputs, 'variance'), c);
    const offset = perChannel(backend, input(inputs, 'offset'), c), scale = perChannel(backend, input(inputs, 'scale'), c);
    if (!mean || !variance || offset === undefined || scale === undefined) return undefined;
    const y = backend.allocFloat32(xv.length);
    backend.addon.batchNormForward(xv, mean, variance, offset, scale, y, c, numAttr(attrs, 'varianceEpsilon', 0.001));
    return backend.makeOutput32(x.shape.slice(), y);
  },
};

/** Inputs dy, x, mean, variance (rank 1, length C), optional scale; outputs [dx, dmean, dvariance, dscale, doffset]. */
const batchNormGrad: NativeKernel = {
  kernelName: BATCH_NORM_GRAD,
  impl: (inputs, backend, attrs: NamedAttrMap) => {
    const dy = input(inputs, 'dy'), x = input(inputs, 'x');
    const dyv = dy && backend.f32(dy), xv = x && backend.f32(x);
    if (!x || !xv || !dyv || dyv.length !== xv.length) throw new Error(`${BATCH_NORM_GRAD}: dy and x must be float32 of one size`);
    // The addon takes no empty arrays; tfjs's own gradient fails here too (its statistics of no values are NaN).
    if (xv.length === 0) throw new Error(`${BATCH_NORM_GRAD}: x [${x.shape}] is empty: batch statistics of no values have no gradient`);
    const c = x.shape[x.shape.length - 1]!;
    const mean = perChannel(backend, input(inputs, 'mean'), c), variance = perChannel(backend, input(inputs, 'variance'), c);
    const scale = perChannel(backend, input(inputs, 'scale'), c);
    if (!mean || !variance || scale === undefined) throw new Error(`${BATCH_NORM_GRAD}: mean, variance and scale must hold ${c} floats`);
    const dx = backend.allocFloat32(xv.length);
    const per = () => new Float32Array(c);
    const [dmean, dvariance, dscale, doffset] = [per(), per(), per(), per()];
    backend.addon.batchNormBackward(dyv, xv, mean, variance, scale, dx, dmean, dvariance, dscale, doffset, c,
      numAttr(attrs, 'varianceEpsilon', 0.001));
    return [x.shape.slice(), [c], [c], [c], [c]].map((shape, i) =>
      backend.makeOutput32(shape, [dx, dmean, dvariance, dscale, doffset][i]!));
  },
};

export const batchNormKernels: NativeKernel[] = [fusedBatchNorm, batchNormGrad];
