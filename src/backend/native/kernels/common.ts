// Shared pieces of the native kernels: the kernel definition type and shape arithmetic.
import type { NamedAttrMap, NamedTensorInfoMap, TensorInfo } from '@tensorflow/tfjs';

import type { NativeBackend } from '../backend.js';

/**
 * A native kernel: returns its outputs, or undefined to hand the call to the cpu backend's kernel (dtype, layout
 * or attribute it does not handle). Kernels with no cpu counterpart (custom gradient kernels) never return undefined.
 */
export type NativeImpl = (
  inputs: NamedTensorInfoMap,
  backend: NativeBackend,
  attrs: NamedAttrMap,
) => TensorInfo | TensorInfo[] | undefined;

export interface NativeKernel {
  kernelName: string;
  impl: NativeImpl;
}

export function sizeOf(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** The input as a tensor info, or undefined when the engine passed none (optional inputs such as bias). */
export function input(inputs: NamedTensorInfoMap, name: string): TensorInfo | undefined {
  return inputs[name] ?? undefined;
}

/** Attribute as a string (absent: the default). */
export function strAttr(attrs: NamedAttrMap, name: string, dflt: string): string {
  const v = attrs[name];
  return typeof v === 'string' ? v : dflt;
}

export function numAttr(attrs: NamedAttrMap, name: string, dflt: number): number {
  const v = attrs[name];
  return typeof v === 'number' ? v : dflt;
}

export function boolAttr(attrs: NamedAttrMap, name: string, dflt: boolean): boolean {
  const v = attrs[name];
  return typeof v === 'boolean' ? v : dflt;
}

/** The addon's blocked mask bit for an operand: set for a resident fp32 (nChw16c) array; a Uint16Array is bf16
 *  nChw16c whatever the mask says, anything else fp32 NHWC. */
export function blockedBit(o: { v: Float32Array | Uint16Array; resident: boolean }, bit: number): number {
  return o.resident && o.v instanceof Float32Array ? bit : 0;
}
