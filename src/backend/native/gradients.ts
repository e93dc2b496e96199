// Gradient overrides that route to single native kernels when the native backend is active (else tfjs's own).
import * as tf from '@tensorflow/tfjs';
import type { GradConfig, Tensor } from '@tensorflow/tfjs';

import { BATCH_NORM_GRAD } from './kernels/batchnorm.js';
import { BROADCAST_DIV, broadcastPlan, RELU_GRAD, SQUARE_GRAD } from './kernels/elementwise.js';

export const NATIVE_BACKEND_NAME = 'native';

let installed = false;

/** Wraps a registered gradient so that, on the native backend, `nativeGrad` computes it instead; nativeGrad returns
 *  undefined for cases it leaves to the original. */
function override(kernelName: string, nativeGrad: (...args: Parameters<GradConfig['gradFunc']>) => ReturnType<GradConfig['gradFunc']> | undefined): void {
  const original = tf.getGradient(kernelName);
  if (!original) return;
  tf.registerGradient({
    ...original,
    gradFunc: (dy, saved, attrs) =>
      (tf.getBackend() === NATIVE_BACKEND_NAME ? nativeGrad(dy, saved, attrs) : undefined) ??
      original.gradFunc(dy, saved, attrs),
  });
}

/** Installs the overrides once per process. Relu's gradient is otherwise Step + Cast + Multiply: three full passes
 *  over the activation and two temporaries; FusedBatchNorm's is about ten elementwise ops and four reductions;
 *  Mean's allocates and multiplies a full-size ones tensor. */
export function installNativeGradients(): void {
  if (installed) return;
  installed = true;
  override('Relu', (dy, saved) => {
    const [x] = saved as [Tensor];
    return { x: () => tf.engine().runKernel(RELU_GRAD, { dy: dy as Tensor, x }) as Tensor };
  });
  override('Square', (dy, saved) => {
    const [x] = saved as [Tensor];
    if (x.dtype !== 'float32') return undefined;
    return { x: () => tf.engine().runKernel(SQUARE_GRAD, { dy: dy as Tensor, x }) as Tensor };
  });
  // Mean: dy broadcast back over the reduced axes / their size (tfjs: reshape, ones, Multiply, RealDiv).
  override('Mean', (dy, saved, attrs) => {
    const [x] = saved as [Tensor];
    const axes = tf.util.parseAxisParam(attrs.axis as number | number[], x.shape);
    const expanded = x.shape.map((d, i) => (axes.includes(i) ? 1 : d));
    const plan = broadcastPlan(expanded, x.shape);
    if (!plan || plan.outShape.join() !== x.shape.join()) return undefined;
    const divisor = axes.reduce((p, a) => p * x.shape[a]!, 1);
    return {
      x: () => {
        const e = tf.reshape(dy as Tensor, expanded);
        return tf.engine().runKernel(BROADCAST_DIV, { x: e }, { shape: x.shape, divisor }) as Tensor;
      },
    };
  });
  override('FusedBatchNorm', (dy, saved, attrs) => {
    const [x, mean, variance, scale] = saved as [Tensor, Tensor, Tensor, Tensor | undefined];
    // Per-channel statistics only (what layers.batchNormalization passes); other shapes keep tfjs's gradient.
    if (mean.rank !== 1 || variance.rank !== 1 || (scale && scale.rank !== 1)) return undefined;
    // One kernel call yields all five; each input's gradient hands out its own reference (the originals are
    // disposed with the backward pass's scope).
    const inputs: tf.NamedTensorMap = { dy: dy as Tensor, x, mean, variance };
    if (scale) inputs.scale = scale;
    const [dx, dmean, dvariance, dscale, doffset] = tf.engine().runKernel(BATCH_NORM_GRAD, inputs, attrs) as Tensor[];
    return {
      x: () => dx!.clone(),
      mean: () => dmean!.clone(),
      variance: () => dvariance!.clone(),
      scale: () => dscale!.clone(),
      offset: () => doffset!.clone(),
    };
  });
}
