// Native BatchMatMul and _FusedMatMul (dense layers and their gradients) on oneDNN's sgemm.
import { broadcast_util } from '@tensorflow/tfjs';
import type { NamedAttrMap, TensorInfo } from '@tensorflow/tfjs';

import { ACTIVATIONS, type ActivationName } from '../addon.js';
import type { NativeBackend } from '../backend.js';
import { boolAttr, input, numAttr, sizeOf, strAttr, type NativeKernel } from './common.js';

function matmul(backend: NativeBackend, a: TensorInfo, b: TensorInfo, attrs: NamedAttrMap, bias: TensorInfo | undefined,
  activation: ActivationName): TensorInfo | undefined {
  const av = backend.f32(a), bv = backend.f32(b);
  if (!av || !bv || a.shape.length < 2 || b.shape.length < 2) return undefined;
  const ta = boolAttr(attrs, 'transposeA', false), tb = boolAttr(attrs, 'transposeB', false);
  const ra = a.shape.length, rb = b.shape.length;
  const m = ta ? a.shape[ra - 1]! : a.shape[ra - 2]!;
  const k = ta ? a.shape[ra - 2]! : a.shape[ra - 1]!;
  const kb = tb ? b.shape[rb - 1]! : b.shape[rb - 2]!;
  const n = tb ? b.shape[rb - 2]! : b.shape[rb - 1]!;
  if (k !== kb || m < 1 || n < 1 || k < 1) return undefined;
  const batchShapeA = a.shape.slice(0, -2), batchShapeB = b.shape.slice(0, -2);
  const batchA = sizeOf(batchShapeA), batchB = sizeOf(batchShapeB);
  // An empty batch ([0, m, k]) gives an empty product: the cpu kernel's (the addon takes sizes >= 1 only).
  if (batchA < 1 || batchB < 1) return undefined;
  // Same batch, or one side's batch is 1 and broadcasts (as the cpu kernel requires too).
  if (batchA !== batchB && batchA !== 1 && batchB !== 1) return undefined;
  let batchShape: number[];
  try {
    batchShape = broadcast_util.assertAndGetBroadcastShape(batchShapeA, batchShapeB);
  } catch {
    return undefined;
  }
  if (sizeOf(batchShape) !== Math.max(batchA, batchB)) return undefined;
  let biasv: Float32Array | null = null;
  if (bias) {
    const v = backend.f32(bias);
    if (!v || v.length !== n || bias.shape[bias.shape.length - 1] !== n) return undefined;
    biasv = v;
  }
  const batch = Math.max(batchA, batchB);
  const y = backend.allocFloat32(batch * m * n);
  backend.addon.matmul(av, bv, y, Int32Array.from([batchA, batchB, m, n, k, ta ? 1 : 0, tb ? 1 : 0]), biasv,
    ACTIVATIONS[activation], numAttr(attrs, 'leakyreluAlpha', 0.2));
  return backend.makeOutput32([...batchShape, m, n], y);
}

const batchMatMul: NativeKernel = {
  kernelName: 'BatchMatMul',
  impl: (inputs, backend, attrs) => {
    const a = input(inputs, 'a'), b = input(inputs, 'b');
    return a && b ? matmul(backend, a, b, attrs, undefined, 'linear') : undefined;
  },
};

const fusedMatMul: NativeKernel = {
  kernelName: '_FusedMatMul',
  impl: (inputs, backend, attrs) => {
    const a = input(inputs, 'a'), b = input(inputs, 'b');
    const activation = strAttr(attrs, 'activation', 'linear');
    if (!a || !b || input(inputs, 'preluActivationWeights') || !(activation in ACTIVATIONS)) return undefined;
    return matmul(backend, a, b, attrs, input(inputs, 'bias'), activation as ActivationName);
  },
};

export const matmulKernels: NativeKernel[] = [batchMatMul, fusedMatMul];
