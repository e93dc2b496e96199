// Classifier heads: features [n,h,w,k] -> logits [n,C]. The head is the experiment's switch (FC vs GAP).
import * as tf from '@tensorflow/tfjs';
import type { ModelConfig } from '../config/schema.js';
import type { BuildContext } from './context.js';
import { CLASS_MAP_LAYER, LOGITS_LAYER } from './layer-names.js';

/** What a head returns: the logits tensor and the names of layers CAM needs. */
export interface HeadOutput {
  /** [n,C] pre-softmax scores, produced by the layer named 'logits'. */
  logits: tf.SymbolicTensor;
  /** 1x1 conv with one map per class (gap head). */
  classMapLayer?: string;
  /** Dense layer right after global average pooling (gap-dense head). */
  classifierLayer?: string;
}

export type HeadBuilder = (
  features: tf.SymbolicTensor,
  cfg: ModelConfig,
  ctx: BuildContext,
  numClasses: number,
) => HeadOutput;

const apply = (layer: tf.layers.Layer, x: tf.SymbolicTensor): tf.SymbolicTensor => layer.apply(x) as tf.SymbolicTensor;

/**
 * NIN's head: 1x1 conv to C class maps [n,h,w,C] ('class_maps', ReLU by default as in NIN) -> global average pooling
 * [n,C], which is itself the 'logits' layer. No parameters beyond the 1x1 conv; CAM of class c is map c. The maps' bias
 * starts at model.gap.bias (default 1), so ReLU maps start active and train (schema.ts says why).
 */
export const gapHead: HeadBuilder = (features, cfg, ctx, numClasses) => {
  const maps = apply(ctx.conv(CLASS_MAP_LAYER, numClasses, 1, { activation: cfg.gap.activation, bias: cfg.gap.bias }), features);
  const logits = apply(tf.layers.globalAveragePooling2d({ name: LOGITS_LAYER }), maps);
  return { logits, classMapLayer: CLASS_MAP_LAYER };
};

/**
 * ResNet-50's head: global average pooling [n,k] -> dense C. The dense layer is named 'logits' and is also the CAM
 * classifier (its kernel [k,C] holds the class weights w_k^c).
 */
export const gapDenseHead: HeadBuilder = (features, _cfg, ctx, numClasses) => {
  const pooled = apply(tf.layers.globalAveragePooling2d({ name: 'head_gap' }), features);
  const logits = apply(ctx.dense(LOGITS_LAYER, numClasses, 'linear'), pooled);
  return { logits, classifierLayer: LOGITS_LAYER };
};

/**
 * flatten [n,h*w*k] -> dense hidden layers `fc.hidden` (ReLU) -> dense C 'logits'. With dropout (fc-dropout head) the
 * rule is Keras's and the paper's: dropout after each hidden layer; after flatten only when there is no hidden layer
 * (NIN section 4.6 and the torch peer: flatten -> dropout -> dense C). Keras's cifar10_cnn has no dropout after flatten.
 */
function fcHeadWith(dropout: boolean): HeadBuilder {
  return (features, cfg, ctx, numClasses) => {
    const rate = dropout ? cfg.fc.dropout : 0;
    const drop = (t: tf.SymbolicTensor, i: number) =>
      rate > 0 ? apply(ctx.dropout(`head_dropout${i}`, rate), t) : t; // seeded per batch by the loop
    let t = apply(tf.layers.flatten({ name: 'head_flatten' }), features);
    if (cfg.fc.hidden.length === 0) t = drop(t, 0);
    cfg.fc.hidden.forEach((units, i) => {
      t = drop(apply(ctx.dense(`head_dense${i + 1}`, units, 'relu'), t), i + 1);
    });
    return { logits: apply(ctx.dense(LOGITS_LAYER, numClasses, 'linear'), t) };
  };
}

export const fcHead: HeadBuilder = fcHeadWith(false);
export const fcDropoutHead: HeadBuilder = fcHeadWith(true);
