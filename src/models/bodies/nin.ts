// Network In Network body (Lin et al. 2014, CIFAR-10 layout): stacked mlpconv blocks, the layout kept as a data table.
import * as tf from '@tensorflow/tfjs';
import type { ModelConfig } from '../../config/schema.js';
import type { BuildContext } from '../context.js';
import { FEATURE_LAYER } from '../layer-names.js';

/** One mlpconv block: a k x k conv then 1x1 convs ("micro network"), all ReLU, 'same' padding. */
export interface MlpconvBlock {
  kernel: number;
  /** Output channels of each conv in the block, the k x k conv first. */
  filters: number[];
}

/**
 * The authors' cuda-convnet CIFAR-10 definition. Block 3's third conv (C class maps) is not here: it belongs to the
 * `gap` head ('class_maps'); the `fc` heads replace it by flatten -> dense, as the paper's section 4.6 and the torch
 * peer do. So the body ends at block 3's second 1x1 conv, 192 maps ('features').
 */
export const NIN_CIFAR: readonly MlpconvBlock[] = [
  { kernel: 5, filters: [192, 160, 96] },
  { kernel: 5, filters: [192, 192, 192] },
  { kernel: 3, filters: [192, 192] },
];

/** Channel count under the width multiplier: rounded, at least 1. */
export function scaleWidth(channels: number, width: number): number {
  return Math.max(1, Math.round(channels * width));
}

/**
 * [n,h,w,c] -> [n,ceil(h/4),ceil(w/4),round(192*width)] for 3 blocks. After every block but the last:
 * 3x3 stride-2 pooling with 'same' padding (32 -> 16 -> 8, the authors' ceil rounding; odd sizes work), then dropout.
 * The last conv is named 'features'.
 */
export function ninBody(x: tf.SymbolicTensor, cfg: ModelConfig, ctx: BuildContext): tf.SymbolicTensor {
  const { width, blocks, pool, dropout } = cfg.nin;
  const table = NIN_CIFAR.slice(0, blocks);
  let t = x;
  table.forEach((block, b) => {
    const last = b === table.length - 1;
    block.filters.forEach((f, i) => {
      const name = last && i === block.filters.length - 1 ? FEATURE_LAYER : `body_b${b + 1}_conv${i + 1}`;
      t = ctx.conv(name, scaleWidth(f, width), i === 0 ? block.kernel : 1).apply(t) as tf.SymbolicTensor;
    });
    if (last) return;
    const poolArgs = { name: `body_b${b + 1}_pool`, poolSize: 3, strides: 2, padding: 'same' as const };
    t = (pool === 'max' ? tf.layers.maxPooling2d(poolArgs) : tf.layers.averagePooling2d(poolArgs)).apply(
      t,
    ) as tf.SymbolicTensor;
    // No seed: the training loop sets each dropout layer's seed per batch for replayable masks.
    if (dropout > 0) t = ctx.dropout(`body_b${b + 1}_dropout`, dropout).apply(t) as tf.SymbolicTensor;
  });
  return t;
}
