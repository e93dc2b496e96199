// Model registry: any body with any head, built from the model config with seeded weights.
import * as tf from '@tensorflow/tfjs';
import type { BodyName, HeadName, ModelConfig } from '../config/schema.js';
import { UserError } from '../errors.js';
import { cnnBody } from './bodies/cnn.js';
import { ninBody } from './bodies/nin.js';
import { resnetBody } from './bodies/resnet.js';
import { BuildContext } from './context.js';
import { fcDropoutHead, fcHead, gapDenseHead, gapHead, type HeadBuilder } from './heads.js';
import { countParams, type ParamCounts } from './params.js';
import { FEATURE_LAYER, LOGITS_LAYER } from './layer-names.js';

export type { HeadBuilder, HeadOutput } from './heads.js';
export type { ParamCounts } from './params.js';
export { BuildContext } from './context.js';

/** What the data provides: image shape and class count. */
export interface ModelSpec {
  /** [h, w, c] of one input image. */
  inputShape: [number, number, number];
  numClasses: number;
}

/** A built model and the names of the layers other code needs. */
export interface BuiltModel {
  /** Input [null,h,w,c] float32 -> softmax probabilities [null,C] (layer 'probs'). */
  model: tf.LayersModel;
  /** 'logits': pre-softmax scores [null,C]; training uses `logitsModel` (a sub-model ending here). */
  logitsLayer: string;
  /** 'features': the body's last feature maps [null,h',w',k] (CAM / Grad-CAM). */
  featureLayer: string;
  /** 'class_maps' (gap head): 1x1 conv with C maps; NIN's CAM of class c is map c. */
  classMapLayer?: string;
  /** The dense layer after GAP (gap-dense head; it is 'logits' too): its kernel [k,C] holds the CAM weights. */
  classifierLayer?: string;
  /** Trainable parameters, total and split by body / head. */
  params: ParamCounts;
}

/** Body: input [n,h,w,c] -> feature maps [n,h',w',k], last layer named 'features', other layers 'body_*'. */
export type BodyBuilder = (input: tf.SymbolicTensor, cfg: ModelConfig, ctx: BuildContext) => tf.SymbolicTensor;

export const BODIES: Record<BodyName, BodyBuilder> = {
  nin: ninBody,
  cnn: cnnBody,
  resnet: resnetBody,
};

export const HEADS: Record<HeadName, HeadBuilder> = {
  gap: gapHead,
  'gap-dense': gapDenseHead,
  fc: fcHead,
  'fc-dropout': fcDropoutHead,
};

function checkSpec(spec: ModelSpec): void {
  const [h, w, c] = spec.inputShape;
  if (![h, w, c].every((d) => Number.isInteger(d) && d >= 1)) {
    throw new UserError(`model input shape [${spec.inputShape.join(', ')}] must be three positive integers [h, w, c]`);
  }
  if (!Number.isInteger(spec.numClasses) || spec.numClasses < 2) {
    throw new UserError(`model: the dataset must have at least 2 classes, got ${spec.numClasses}`);
  }
}

function producedBy(t: tf.SymbolicTensor, name: string, who: string): void {
  // A bug in a builder, not a user error: CAM and training find these layers by name.
  if (t.sourceLayer.name !== name) throw new Error(`${who} must end in a layer named '${name}', got '${t.sourceLayer.name}'`);
}

/**
 * Builds a new model (pure: every call returns new layers and weights). Kernel initializers are seeded from `seed` and
 * the layer name, so the same seed gives bit-identical weights and the same body whichever head is chosen. Weight decay
 * is not attached here (the training loop applies it to kernels); dropout layers carry no seed (the loop sets it).
 */
export function buildModel(cfg: ModelConfig, spec: ModelSpec, seed: number): BuiltModel {
  checkSpec(spec);
  const ctx = new BuildContext(seed, cfg.initializer);
  const input = tf.input({ name: 'input', shape: spec.inputShape, dtype: 'float32' });
  const features = BODIES[cfg.body](input, cfg, ctx);
  producedBy(features, FEATURE_LAYER, `body '${cfg.body}'`);
  const head = HEADS[cfg.head](features, cfg, ctx, spec.numClasses);
  producedBy(head.logits, LOGITS_LAYER, `head '${cfg.head}'`);
  const probs = tf.layers.activation({ name: 'probs', activation: 'softmax' }).apply(head.logits) as tf.SymbolicTensor;
  const model = tf.model({ name: `${cfg.body}_${cfg.head}`, inputs: input, outputs: probs });
  return {
    model,
    logitsLayer: LOGITS_LAYER,
    featureLayer: FEATURE_LAYER,
    ...(head.classMapLayer ? { classMapLayer: head.classMapLayer } : {}),
    ...(head.classifierLayer ? { classifierLayer: head.classifierLayer } : {}),
    params: countParams(model),
  };
}

/** tfjs keeps a layer's use count in a protected field; a model shares a layer's weights by counting itself in. */
interface RefCounted {
  _refCount: number | null;
}

/**
 * A model with the same input whose output is the 'logits' layer [null,C]. It shares every weight with `built.model`
 * (training it trains the full model). Reference-counted like tfjs's nested models: dispose each model you create;
 * shared weights are freed when the last of them is disposed.
 */
export function logitsModel(built: BuiltModel): tf.LayersModel {
  const full = built.model;
  const out = full.getLayer(built.logitsLayer).output as tf.SymbolicTensor;
  const sub = tf.model({ name: `${full.name}_logits`, inputs: full.inputs, outputs: out });
  for (const layer of sub.layers) {
    const rc = layer as unknown as RefCounted;
    if (rc._refCount !== null) rc._refCount += 1;
  }
  return sub;
}
