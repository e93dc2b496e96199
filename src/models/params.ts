// Parameter counts split by layer ownership: body layers are 'body_*' and 'features', head layers 'head_*' and the
// fixed head names.

import type * as tf from '@tensorflow/tfjs';
import { CLASS_MAP_LAYER, FEATURE_LAYER, LOGITS_LAYER } from './layer-names.js';

/** Trainable parameter counts; total = body + head. */
export interface ParamCounts {
  total: number;
  body: number;
  head: number;
}

/** Layer names with a fixed meaning that belong to the head. */
export const HEAD_LAYER_NAMES: readonly string[] = [CLASS_MAP_LAYER, 'classifier', LOGITS_LAYER];

/** Which part of the model a layer belongs to, from its name. 'none' for parameter-free glue (input, probs). */
export function layerOwner(name: string): 'body' | 'head' | 'none' {
  if (name.startsWith('body_') || name === FEATURE_LAYER) return 'body';
  if (name.startsWith('head_') || HEAD_LAYER_NAMES.includes(name)) return 'head';
  return 'none';
}

/**
 * Counts trainable weights (what the optimizer learns; PyTorch's `sum(p.numel())` and the papers count the same).
 * Batch norm's moving mean and variance are state, not parameters, so they are left out: tfjs's
 * `model.countParams()` includes them and is larger by 2 x (batch-norm channels) for ResNet.
 */
export function countParams(model: tf.LayersModel): ParamCounts {
  const counts: ParamCounts = { total: 0, body: 0, head: 0 };
  for (const layer of model.layers) {
    // Weight shapes are always fully known (no batch dimension), so null never occurs here.
    const n = layer.trainableWeights.reduce((sum, w) => sum + w.shape.reduce<number>((a, b) => a * (b ?? 0), 1), 0);
    if (n === 0) continue;
    const owner = layerOwner(layer.name);
    // A bug, not a user error: every layer with weights must be named by its builder.
    if (owner === 'none') throw new Error(`layer '${layer.name}' has ${n} parameters but belongs to neither body nor head`);
    counts[owner] += n;
    counts.total += n;
  }
  return counts;
}
