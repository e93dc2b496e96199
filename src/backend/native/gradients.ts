// Gradient overrides that route to single native kernels when the native backend is active (else tfjs's own).
import * as tf from '@tensorflow/tfjs';
import type { GradConfig, Tensor } from '@tensorflow/tfjs';

import { BATCH_NORM_GRAD } from './kernels/batchnorm.js';
import { RELU_GRAD } from './kernels/elementwise.js';

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
 *  over the activation and two temporaries; FusedBatchNorm's is about ten elementwise ops and four reductions. */
export function installNativeGradients(): void {
  if (installed) return;
  installed = true;
  override('Relu', (dy, saved) => {
    const [x] = saved as [Tensor];
    return { x: () => tf.engine().runKernel(RELU_GRAD, { dy: dy as Tensor, x }) as Tensor };
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
