// Which weights weight decay applies to: conv and dense kernels, not biases or batch-norm parameters.
import type * as tf from '@tensorflow/tfjs';

/**
 * The trainable kernels of a model (weights whose original name ends in '/kernel': conv and dense layers). The
 * training loop adds weightDecay * kernel to their gradients; biases and batch-norm gamma/beta are left undecayed,
 * as in the NIN and ResNet recipes.
 */
export function decayedWeights(model: tf.LayersModel): tf.LayerVariable[] {
  return model.trainableWeights.filter((w) => w.originalName.endsWith('/kernel'));
}
