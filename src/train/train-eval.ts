// The fixed training sample re-evaluated in inference mode at every epoch end: what the true generalization gap uses.
import type { TrainConfig } from '../config/schema.js';
import { subset, type ImageSet } from '../data/types.js';
import { deriveSeed, Rng } from '../util/rng.js';

/** Images in the sample: train.trainEvalSize resolved against the split ('val' = the validation set's size). */
export function trainEvalCount(size: TrainConfig['trainEvalSize'], trainN: number, valN: number): number {
  return Math.min(size === 'val' ? valN : size, trainN);
}

/**
 * `count` images of `train` without replacement, chosen by a shuffle seeded from `seed` alone, so every head, epoch and
 * resume of a run with that seed sees the same images; they keep the training set's order. count >= train.n returns
 * `train` itself (no copy), 0 an empty set (the extra evaluation is off).
 */
export function trainEvalSample(train: ImageSet, count: number, seed: number): ImageSet {
  if (count >= train.n) return train;
  const picked = new Rng(deriveSeed(seed, 'train-eval')).permutation(train.n).subarray(0, count).sort();
  return subset(train, picked);
}
