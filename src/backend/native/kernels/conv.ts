// Native Conv2D, Conv2DBackpropInput, Conv2DBackpropFilter and FusedConv2D (NHWC/HWIO, any stride, padding, dilation).
import { backend_util } from '@tensorflow/tfjs';
import type { NamedAttrMap, TensorInfo } from '@tensorflow/tfjs';

import { ACTIVATIONS, type ActivationName } from '../addon.js';
import type { NativeBackend } from '../backend.js';
import { input, numAttr, sizeOf, strAttr, type NativeKernel } from './common.js';

type Pad = 'valid' | 'same' | number | backend_util.ExplicitPadding;
type Rounding = 'floor' | 'round' | 'ceil' | undefined;

/** Int32Array [n, ih, iw, ic, oh, ow, oc, kh, kw, sh, sw, dh, dw, pt, pl, pb, pr] for the addon, or undefined when
 *  the geometry is one the addon rejects (channels-first data, or padding that does not give tfjs's output size). */
export function convShape(info: backend_util.Conv2DInfo): Int32Array | undefined {
  if (info.dataFormat !== 'channelsLast') return undefined;
  const { top, left, bottom, right } = info.padInfo;
  if (top < 0 || left < 0 || bottom < 0 || right < 0) return undefined;
  const ekh = (info.filterHeight - 1) * info.dilationHeight + 1;
  const ekw = (info.filterWidth - 1) * info.dilationWidth + 1;
  const oh = Math.floor((info.inHeight + top + bottom - ekh) / info.strideHeight) + 1;
  const ow = Math.floor((info.inWidth + left + right - ekw) / info.strideWidth) + 1;
  if (oh !== info.outHeight || ow !== info.outWidth) return undefined;
  const shape = Int32Array.from([
    info.batchSize, info.inHeight, info.inWidth, info.inChannels, info.outHeight, info.outWidth, info.outChannels,
    info.filterHeight, info.filterWidth, info.strideHeight, info.strideWidth, info.dilationHeight, info.dilationWidth,
    top, left, bottom, right,
  ]);
  // Empty tensors and zero-sized filters are left to the cpu kernels.
  return shape.subarray(0, 13).every((d) => d >= 1) ? shape : undefined;
}

function dataFormat(attrs: NamedAttrMap): 'channelsLast' | 'channelsFirst' {
  return backend_util.convertConv2DDataFormat(strAttr(attrs, 'dataFormat', 'NHWC') as 'NHWC' | 'NCHW');
}

function pad(attrs: NamedAttrMap): Pad {
  return attrs.pad as Pad;
}

function rounding(attrs: NamedAttrMap): Rounding {
  return attrs.dimRoundingMode as Rounding;
}

function pair(attrs: NamedAttrMap, name: string, dflt: number): number | [number, number] {
  const v = attrs[name];
  if (typeof v === 'number') return v;
  if (Array.isArray(v) && v.length === 2 && typeof v[0] === 'number' && typeof v[1] === 'number') return [v[0], v[1]];
  return dflt;
}

function conv2dInfo(x: TensorInfo, filterShape: number[], attrs: NamedAttrMap, dilations: number | [number, number]) {
  return backend_util.computeConv2DInfo(
    x.shape as [number, number, number, number], filterShape as [number, number, number, number],
    pair(attrs, 'strides', 1), dilations, pad(attrs), rounding(attrs), false, dataFormat(attrs));
}

/**
 * An [n, h, w, c] output written by `write`: with a multiple of 16 channels, resident (the convolution's own layout,
 * nChw16c, bf16 in precision bf16, fp32 otherwise; see NativeBackend.makeResident: the next convolution or gradient
 * reads it with no reorder, any other kernel gets fp32 NHWC values), else fp32 NHWC.
 */
function residentOr(backend: NativeBackend, shape: number[],
  write: (out: Float32Array | Uint16Array, resident: boolean) => void): TensorInfo {
  const res = backend.residentOutput(shape, (view) => write(view, true));
  if (res) return res;
  const out = backend.allocFloat32(sizeOf(shape));
  write(out, false);
  return backend.makeOutput32(shape, out);
}

/** The addon's resident mask: 1 for the input-shaped operand, 2 for the output-shaped one (see native/src/conv.cc). */
function mask(inputShaped: boolean, outputShaped: boolean): number {
  return (inputShaped ? 1 : 0) | (outputShaped ? 2 : 0);
}

/** y = act(conv(x, filter) + bias) in one oneDNN call. */
function forward(backend: NativeBackend, x: TensorInfo, filter: TensorInfo, bias: TensorInfo | undefined,
  attrs: NamedAttrMap, activation: ActivationName): TensorInfo | undefined {
  const xo = backend.operand(x), fv = backend.f32(filter);
  if (!xo || !fv || x.shape.length !== 4 || filter.shape.length !== 4) return undefined;
  const info = conv2dInfo(x, filter.shape, attrs, pair(attrs, 'dilations', 1));
  const shape = convShape(info);
  if (!shape) return undefined;
  let bv: Float32Array | null = null;
  if (bias) {
    const b = backend.f32(bias);
    if (!b || sizeOf(bias.shape) !== info.outChannels || b.length !== info.outChannels) return undefined;
    bv = b;
  }
  const alpha = numAttr(attrs, 'leakyreluAlpha', 0.2);
  return residentOr(backend, info.outShape, (out, res) =>
    backend.addon.convForward(shape, xo.v, fv, bv, out, ACTIVATIONS[activation], alpha, mask(xo.resident, res)));
}

const conv2D: NativeKernel = {
  kernelName: 'Conv2D',
  impl: (inputs, backend, attrs) => {
    const x = input(inputs, 'x'), filter = input(inputs, 'filter');
    if (!x || !filter) return undefined;
    return forward(backend, x, filter, undefined, attrs, 'linear');
  },
};

const fusedConv2D: NativeKernel = {
  kernelName: 'FusedConv2D',
  impl: (inputs, backend, attrs) => {
    const x = input(inputs, 'x'), filter = input(inputs, 'filter');
    if (!x || !filter || input(inputs, 'preluActivationWeights')) return undefined;
    const activation = strAttr(attrs, 'activation', 'linear');
    if (!(activation in ACTIVATIONS)) return undefined;
    return forward(backend, x, filter, input(inputs, 'bias'), attrs, activation as ActivationName);
  },
};

const conv2DBackpropInput: NativeKernel = {
  kernelName: 'Conv2DBackpropInput',
  impl: (inputs, backend, attrs) => {
    const dy = input(inputs, 'dy'), filter = input(inputs, 'filter');
    const inputShape = attrs.inputShape as number[] | undefined;
    if (!dy || !filter || !inputShape || inputShape.length !== 4) return undefined;
    const dyo = backend.operand(dy), fv = backend.f32(filter);
    if (!dyo || !fv) return undefined;
    const info = backend_util.computeConv2DInfo(
      inputShape as [number, number, number, number], filter.shape as [number, number, number, number],
      pair(attrs, 'strides', 1), 1, pad(attrs), rounding(attrs), false, dataFormat(attrs));
    const shape = convShape(info);
    if (!shape || sizeOf(dy.shape) !== sizeOf(info.outShape)) return undefined;
    return residentOr(backend, inputShape, (out, res) => backend.addon.convBackwardData(shape, dyo.v, fv, out, mask(res, dyo.resident)));
  },
};

const conv2DBackpropFilter: NativeKernel = {
  kernelName: 'Conv2DBackpropFilter',
  impl: (inputs, backend, attrs) => {
    const x = input(inputs, 'x'), dy = input(inputs, 'dy');
    const filterShape = attrs.filterShape as number[] | undefined;
    if (!x || !dy || !filterShape || filterShape.length !== 4 || x.shape.length !== 4) return undefined;
    const xo = backend.operand(x), dyo = backend.operand(dy);
    if (!xo || !dyo) return undefined;
    const info = conv2dInfo(x, filterShape, attrs, 1);
    const shape = convShape(info);
    if (!shape || sizeOf(dy.shape) !== sizeOf(info.outShape)) return undefined;
    const dw = backend.allocFloat32(sizeOf(filterShape));
    backend.addon.convBackwardWeights(shape, xo.v, dyo.v, dw, mask(xo.resident, dyo.resident));
    return backend.makeOutput32(filterShape, dw);
  },
};

export const convKernels: NativeKernel[] = [conv2D, fusedConv2D, conv2DBackpropInput, conv2DBackpropFilter];
