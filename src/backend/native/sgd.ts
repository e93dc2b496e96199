// The SGD-momentum update as one native kernel where the native backend runs (src/train/optimizer.ts's Sgd uses it).
import * as tf from '@tensorflow/tfjs';
import type { Tensor } from '@tensorflow/tfjs';

import type { NativeBackend } from './backend.js';
import { NATIVE_BACKEND_NAME } from './gradients.js';
import { SGD_MOMENTUM } from './kernels/sgd.js';

export interface SgdStep {
  weightDecay: number;
  momentum: number;
  lr: number;
  nesterov: boolean;
}

/** [w', m'] of one SGD-momentum step (g += wd * w; m' = momentum * m + g; w' = w - lr * (nesterov ? g + momentum * m'
 *  : m')), bit for bit as the tfjs ops compute it; undefined off the native backend (or with an older addon). */
export function nativeSgdMomentum(w: Tensor, g: Tensor, m: Tensor, step: SgdStep): [Tensor, Tensor] | undefined {
  if (tf.getBackend() !== NATIVE_BACKEND_NAME || !(tf.backend() as NativeBackend).addon.sgdMomentum) return undefined;
  if (w.dtype !== 'float32' || g.dtype !== 'float32' || m.dtype !== 'float32') return undefined;
  return tf.engine().runKernel(SGD_MOMENTUM, { w, g, m }, { ...step }) as unknown as [Tensor, Tensor];
}
