// Conventional CNN body after Keras's cifar10_cnn example: stages of 3x3 convs, 2x2 pooling and dropout.
import * as tf from '@tensorflow/tfjs';
import type { ModelConfig } from '../../config/schema.js';
import { UserError } from '../../errors.js';
import type { BuildContext } from '../context.js';
import { FEATURE_LAYER } from '../layer-names.js';

type Stages = ModelConfig['cnn']['stages'];

/**
 * Spatial size [h,w] after the stages: a 3x3 'valid' conv takes 2 pixels, 2x2 'valid' pooling halves (floor).
 * Checked before any layer exists, so a too-small input fails without allocating weights.
 */
export function cnnOutputSize(h: number, w: number, stages: Stages): [number, number] {
  const tooSmall = (s: number, what: string) =>
    new UserError(
      `model.cnn.stages: a ${h}x${w} input is too small for stage ${s + 1} (${what}); ` +
        'use fewer stages or convs per stage, or larger images',
    );
  let [y, x] = [h, w];
  stages.forEach((stage, s) => {
    for (let i = 1; i < stage.convs; i++) {
      if (y < 3 || x < 3) throw tooSmall(s, `a 3x3 'valid' conv needs 3x3, has ${y}x${x}`);
      [y, x] = [y - 2, x - 2];
    }
    if (y < 2 || x < 2) throw tooSmall(s, `2x2 pooling needs 2x2, has ${y}x${x}`);
    [y, x] = [Math.floor(y / 2), Math.floor(x / 2)];
  });
  return [y, x];
}

/**
 * [n,h,w,c] -> pooled maps of the last stage. Each stage: first 3x3 conv 'same', the rest 'valid' (Keras), ReLU, then
 * 2x2 stride-2 pooling with 'valid' padding (Keras's default: 32 -> 30 -> 15 -> 13 -> 6, which the 1,250,858-parameter
 * count depends on), then dropout. 'features' is a parameter-free identity layer on the body's final output (pooled,
 * after dropout, so the fc heads see exactly what Keras's dense head sees); CAM/Grad-CAM on it use the pooled maps.
 */
export function cnnBody(x: tf.SymbolicTensor, cfg: ModelConfig, ctx: BuildContext): tf.SymbolicTensor {
  const { stages, pool, dropout } = cfg.cnn;
  cnnOutputSize(x.shape[1] ?? 0, x.shape[2] ?? 0, stages);
  let t = x;
  stages.forEach((stage, s) => {
    for (let i = 0; i < stage.convs; i++) {
      const padding = i === 0 ? 'same' : 'valid';
      t = ctx.conv(`body_s${s + 1}_conv${i + 1}`, stage.filters, 3, { padding }).apply(t) as tf.SymbolicTensor;
    }
    const poolArgs = { name: `body_s${s + 1}_pool`, poolSize: 2, strides: 2, padding: 'valid' as const };
    t = (pool === 'max' ? tf.layers.maxPooling2d(poolArgs) : tf.layers.averagePooling2d(poolArgs)).apply(
      t,
    ) as tf.SymbolicTensor;
    // No seed: the training loop sets each dropout layer's seed per batch.
    if (dropout > 0) t = ctx.dropout(`body_s${s + 1}_dropout`, dropout).apply(t) as tf.SymbolicTensor;
  });
  return tf.layers.activation({ name: FEATURE_LAYER, activation: 'linear' }).apply(t) as tf.SymbolicTensor;
}
