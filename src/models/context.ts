// Per-build state shared by body and head builders: seeded initializers derived from the run seed and the layer name.
import * as tf from '@tensorflow/tfjs';
import { dropoutOnNative } from '../backend/native/dropout.js';
import { fuseConvOnNative } from '../backend/native/fused-conv.js';
import type { ModelConfig } from '../config/schema.js';
import { Rng, deriveSeed } from '../util/rng.js';

type InitializerName = ModelConfig['initializer'];
/** tfjs does not export the Initializer class type under `tf.initializers`; every factory returns it. */
export type Initializer = ReturnType<typeof tf.initializers.heNormal>;

/**
 * What a builder needs besides the config: initializers whose seeds come from (run seed, layer name), so the same seed
 * gives bit-identical weights, and a body built under the same seed is identical whichever head follows it.
 */
export class BuildContext {
  constructor(
    /** Run seed (config `seed`). */
    readonly seed: number,
    /** Kernel initializer from `model.initializer`. */
    readonly initializer: InitializerName,
  ) {}

  /** A 31-bit seed unique to this layer (and weight, when a layer has several random weights). */
  layerSeed(layerName: string, weight = 'kernel'): number {
    return new Rng(deriveSeed(this.seed, 'init', layerName, weight)).seed31();
  }

  /** The configured kernel initializer, seeded for `layerName`. */
  kernel(layerName: string): Initializer {
    const seed = this.layerSeed(layerName);
    switch (this.initializer) {
      case 'heNormal':
        return tf.initializers.heNormal({ seed });
      case 'heUniform':
        return tf.initializers.heUniform({ seed });
      case 'glorotNormal':
        return tf.initializers.glorotNormal({ seed });
      case 'glorotUniform':
        return tf.initializers.glorotUniform({ seed });
      case 'randomNormal':
        // The NIN authors' cuda-convnet definitions draw weights from small Gaussians; tfjs's default stddev is 0.05.
        return tf.initializers.randomNormal({ mean: 0, stddev: 0.05, seed });
    }
  }

  /** Conv2D arguments shared by every conv: seeded kernel, zero bias unless `bias` is given. */
  conv(
    name: string,
    filters: number,
    kernelSize: number,
    opts: { strides?: number; padding?: 'same' | 'valid'; activation?: 'relu' | 'linear'; useBias?: boolean; bias?: number } = {},
  ): tf.layers.Layer {
    // On the native backend conv + bias + ReLU run as one op (forward and backward); the layer is tfjs's Conv2D.
    return fuseConvOnNative(tf.layers.conv2d({
      name,
      filters,
      kernelSize,
      strides: opts.strides ?? 1,
      padding: opts.padding ?? 'same',
      activation: opts.activation ?? 'relu',
      useBias: opts.useBias ?? true,
      kernelInitializer: this.kernel(name),
      biasInitializer: opts.bias ? tf.initializers.constant({ value: opts.bias }) : 'zeros',
    }));
  }

  /** A dropout layer, unseeded: the training loop seeds it per batch. On the native backend its training pass is one
   *  addon call with tf.dropout's exact mask; the layer is tfjs's Dropout. */
  dropout(name: string, rate: number): tf.layers.Layer {
    return dropoutOnNative(tf.layers.dropout({ name, rate }));
  }

  /** A dense layer with a seeded kernel and zero bias. */
  dense(name: string, units: number, activation: 'relu' | 'linear'): tf.layers.Layer {
    return tf.layers.dense({
      name,
      units,
      activation,
      kernelInitializer: this.kernel(name),
      biasInitializer: 'zeros',
    });
  }
}
