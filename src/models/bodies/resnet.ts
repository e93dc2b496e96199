// CIFAR ResNet body (He et al. 2016, section 4.2): 6n+2 layers, three stages of n basic blocks, batch norm.
import * as tf from '@tensorflow/tfjs';
import type { ModelConfig } from '../../config/schema.js';
import type { BuildContext } from '../context.js';
import { FEATURE_LAYER } from '../layer-names.js';

/** Stage widths as multiples of `model.resnet.width`, and each stage's first stride. */
export const RESNET_CIFAR_STAGES: ReadonlyArray<{ widthMultiple: number; stride: number }> = [
  { widthMultiple: 1, stride: 1 },
  { widthMultiple: 2, stride: 2 },
  { widthMultiple: 4, stride: 2 },
];

/**
 * Batch norm as in PyTorch / the ResNet reference code (moving-average momentum 0.1 in PyTorch terms, epsilon 1e-5);
 * Keras's 0.99 momentum lags too far behind in the short CPU runs this project makes.
 */
function bn(name: string): tf.layers.Layer {
  return tf.layers.batchNormalization({ name, axis: -1, momentum: 0.9, epsilon: 1e-5 });
}

function relu(name: string): tf.layers.Layer {
  return tf.layers.activation({ name, activation: 'relu' });
}

const apply = (layer: tf.layers.Layer, ...inputs: tf.SymbolicTensor[]): tf.SymbolicTensor =>
  layer.apply(inputs.length === 1 ? inputs[0] : inputs) as tf.SymbolicTensor;

/**
 * [n,h,w,c] -> [n,ceil(h/4),ceil(w/4),4*width]. Convs have no bias (batch norm follows). When a block changes shape
 * the shortcut is a 1x1 stride-2 conv + batch norm (option B): tfjs has no built-in layer for option A's channel zero
 * padding, and a custom layer would make saved models unloadable without our code. The last block's output ReLU is
 * named 'features'.
 */
export function resnetBody(x: tf.SymbolicTensor, cfg: ModelConfig, ctx: BuildContext): tf.SymbolicTensor {
  const { depth, width } = cfg.resnet;
  const n = (depth - 2) / 6;
  const conv = (name: string, filters: number, k: number, strides = 1) =>
    ctx.conv(name, filters, k, { strides, activation: 'linear', useBias: false });
  let t = apply(relu('body_relu'), apply(bn('body_bn'), apply(conv('body_conv', width, 3), x)));
  RESNET_CIFAR_STAGES.forEach((stage, s) => {
    const filters = width * stage.widthMultiple;
    for (let b = 0; b < n; b++) {
      const p = `body_s${s + 1}b${b + 1}`;
      const strides = b === 0 ? stage.stride : 1;
      let y = apply(relu(`${p}_relu1`), apply(bn(`${p}_bn1`), apply(conv(`${p}_conv1`, filters, 3, strides), t)));
      y = apply(bn(`${p}_bn2`), apply(conv(`${p}_conv2`, filters, 3), y));
      const inChannels = t.shape[3];
      const shortcut =
        strides !== 1 || inChannels !== filters
          ? apply(bn(`${p}_proj_bn`), apply(conv(`${p}_proj`, filters, 1, strides), t))
          : t;
      const last = s === RESNET_CIFAR_STAGES.length - 1 && b === n - 1;
      t = apply(relu(last ? FEATURE_LAYER : `${p}_relu2`), apply(tf.layers.add({ name: `${p}_add` }), y, shortcut));
    }
  });
  return t;
}
