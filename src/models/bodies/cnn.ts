// Conventional CNN body after Keras's cifar10_cnn example: stages of 3x3 convs, 2x2 pooling and dropout.
import * as tf from '@tensorflow/tfjs';
import type { ModelConfig } from '../../config/schema.js';
import { UserError } from '../../errors.js';
import type { BuildContext } from '../context.js';

/**
 * [n,h,w,c] -> pooled maps of the last stage. Each stage: first 3x3 conv 'same', the rest 'valid' (Keras), ReLU, then
 * 2x2 stride-2 pooling with 'valid' padding (Keras's default: 32 -> 30 -> 15 -> 13 -> 6, which the 1,250,858-parameter
 * count depends on), then dropout. 'features' is a parameter-free identity layer on the body's final output (pooled,
 * after dropout, so the fc heads see exactly what Keras's dense head sees); CAM/Grad-CAM on it use the pooled maps.
 */
export function cnnBody(x: tf.SymbolicTensor, cfg: ModelConfig, ctx: BuildContext): tf.SymbolicTensor {
  const { stages, pool, dropout } = cfg.cnn;
  const shape = x.shape;
  let [h, w] = [shape[1] ?? 0, shape[2] ?? 0];
  const tooSmall = (s: number, what: string) =>
    new UserError(
      `model.cnn.stages: a ${shape[1]}x${shape[2]} input is too small for stage ${s + 1} (${what}); ` +
        'use fewer stages or convs per stage, or larger images',
    );
  let t = x;
  stages.forEach((stage, s) => {
    for (let i = 0; i < stage.convs; i++) {
      const padding = i === 0 ? 'same' : 'valid';
      if (padding === 'valid') {
        if (h < 3 || w < 3) throw tooSmall(s, `a 3x3 'valid' conv needs 3x3, has ${h}x${w}`);
        [h, w] = [h - 2, w - 2];
      }
      t = ctx.conv(`body_s${s + 1}_conv${i + 1}`, stage.filters, 3, { padding }).apply(t) as tf.SymbolicTensor;
    }
    if (h < 2 || w < 2) throw tooSmall(s, `2x2 pooling needs 2x2, has ${h}x${w}`);
    [h, w] = [Math.floor(h / 2), Math.floor(w / 2)];
    const poolArgs = { name: `body_s${s + 1}_pool`, poolSize: 2, strides: 2, padding: 'valid' as const };
    t = (pool === 'max' ? tf.layers.maxPooling2d(poolArgs) : tf.layers.averagePooling2d(poolArgs)).apply(
      t,
    ) as tf.SymbolicTensor;
    // No seed: the training loop sets each dropout layer's seed per batch.
    if (dropout > 0) t = tf.layers.dropout({ name: `body_s${s + 1}_dropout`, rate: dropout }).apply(t) as tf.SymbolicTensor;
  });
  return tf.layers.activation({ name: 'features', activation: 'linear' }).apply(t) as tf.SymbolicTensor;
}
