// One training step (forward, softmax cross-entropy, backward, update) and the batch metrics it reports.
import * as tf from '@tensorflow/tfjs';
import { decayedWeights } from '../models/weights.js';
import { deriveSeed, Rng } from '../util/rng.js';
import { variableGradsFreeing } from './grads.js';
import type { Optimizer } from './optimizer.js';

export interface StepResult {
  /** Mean cross-entropy over the batch (without weight decay, as PyTorch reports it). */
  loss: number;
  /** Correctly classified images in the batch. */
  correct: number;
}

/** The tf.Variables behind a model's trainable weights (LayerVariable.read() returns the Variable itself). */
export function trainableVariables(model: tf.LayersModel): tf.Variable[] {
  return model.trainableWeights.map((w) => w.read() as tf.Variable);
}

/** Names of the variables that get weight decay (the registry's choice: conv and dense kernels). */
export function decayedVariableNames(model: tf.LayersModel): Set<string> {
  return new Set(decayedWeights(model).map((w) => (w.read() as tf.Variable).name));
}

/** Dropout layers of a model; tfjs's Dropout layer reads its public `seed` field on every call. */
export function dropoutLayers(model: tf.LayersModel): Array<tf.layers.Layer & { seed?: number }> {
  return model.layers.filter((l) => l.getClassName() === 'Dropout');
}

/**
 * Gives every dropout layer a fresh seed for this batch, derived from (seed, epoch, batch), so masks differ from
 * step to step yet are replayed exactly by a resumed run. (A fixed seed would repeat one mask; no seed is not replayable.)
 */
export function seedDropout(layers: ReadonlyArray<tf.layers.Layer & { seed?: number }>, seed: number, epoch: number, batch: number): void {
  if (layers.length === 0) return;
  const rng = new Rng(deriveSeed(seed, 'dropout', epoch, batch));
  for (const l of layers) l.seed = rng.seed31();
}

/** Mean softmax cross-entropy of logits [b, C] against int32 labels [b]. */
export function crossEntropy(logits: tf.Tensor2D, labels: tf.Tensor1D): tf.Scalar {
  return tf.tidy(() => tf.losses.softmaxCrossEntropy(tf.oneHot(labels, logits.shape[1]), logits) as tf.Scalar);
}

/** Number of rows whose arg-max equals the label, as a scalar tensor. */
export function countCorrect(logits: tf.Tensor2D, labels: tf.Tensor1D): tf.Scalar {
  return tf.tidy(() => tf.sum(tf.cast(tf.equal(tf.argMax(logits, 1), labels), 'float32')) as tf.Scalar);
}

export interface StepContext {
  /** The model that outputs logits (shares weights with the saved softmax model). */
  net: tf.LayersModel;
  optimizer: Optimizer;
  vars: tf.Variable[];
  decay: ReadonlySet<string>;
}

/**
 * Forward + backward + update on one batch x [b,h,w,c], y [b]; reads two numbers back in one asynchronous read
 * (dataSync would block the thread, and on webgpu it needs OffscreenCanvas, which Node lacks).
 */
export async function trainStep(ctx: StepContext, x: tf.Tensor4D, y: tf.Tensor1D): Promise<StepResult> {
  let correct: tf.Scalar | undefined;
  const { value, grads } = variableGradsFreeing(() => {
    const logits = ctx.net.apply(x, { training: true }) as tf.Tensor2D;
    correct = tf.keep(countCorrect(logits, y));
    return crossEntropy(logits, y);
  }, ctx.vars);
  ctx.optimizer.apply(ctx.vars, grads, ctx.decay);
  const pair = tf.tidy(() => tf.stack([value, correct as tf.Scalar]));
  tf.dispose([value, correct as tf.Scalar]);
  try {
    const [loss, nCorrect] = await pair.data();
    return { loss: loss!, correct: nCorrect! };
  } finally {
    pair.dispose();
  }
}
