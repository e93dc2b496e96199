// Gradient overrides that route to single native kernels when the native backend is active (else tfjs's own).
import * as tf from '@tensorflow/tfjs';
import type { GradConfig, Tensor } from '@tensorflow/tfjs';

import { RELU_GRAD } from './kernels/elementwise.js';

export const NATIVE_BACKEND_NAME = 'native';

let installed = false;

/** Wraps a registered gradient so that, on the native backend, `nativeGrad` computes it instead. */
function override(kernelName: string, nativeGrad: GradConfig['gradFunc']): void {
  const original = tf.getGradient(kernelName);
  if (!original) return;
  tf.registerGradient({
    ...original,
    gradFunc: (dy, saved, attrs) =>
      tf.getBackend() === NATIVE_BACKEND_NAME ? nativeGrad(dy, saved, attrs) : original.gradFunc(dy, saved, attrs),
  });
}

/** Installs the overrides once per process. Relu's gradient is otherwise Step + Cast + Multiply: three full passes
 *  over the activation and two temporaries. */
export function installNativeGradients(): void {
  if (installed) return;
  installed = true;
  override('Relu', (dy, saved) => {
    const [x] = saved as [Tensor];
    return { x: () => tf.engine().runKernel(RELU_GRAD, { dy: dy as Tensor, x }) as Tensor };
  });
}
