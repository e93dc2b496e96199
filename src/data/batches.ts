// Mini-batches made on the fly from uint8 images: seeded epoch shuffle, preprocessing, seeded per-batch augmentation.
import * as tf from '@tensorflow/tfjs';
import { deriveSeed, Rng } from '../util/rng.js';
import { applyAugment, drawAugment } from './augment.js';
import type { Preprocessor } from './preprocess.js';
import type { ImageSet } from './types.js';

export interface Batch {
  /** [b, h, w, c] float32 model input. */
  x: tf.Tensor4D;
  /** [b] int32 class labels. */
  y: tf.Tensor1D;
  size: number;
}

export interface BatchOptions {
  batchSize: number;
  pre: Preprocessor;
  /** Shuffle with the permutation of Rng(deriveSeed(seed, 'shuffle', epoch)); omitted: dataset order. */
  shuffle?: { seed: number; epoch: number };
  /** Augmentation of batch k draws from Rng(deriveSeed(seed, 'augment', epoch, k)); needs `shuffle` for seed and epoch. */
  augment?: { crop: number; flip: boolean };
  /** First batch to produce (resume mid-epoch); the batches are those an uninterrupted epoch yields from here. */
  startBatch?: number;
}

/** Batches per epoch; the last partial batch is kept. */
export function numBatches(n: number, batchSize: number): number {
  return Math.ceil(n / batchSize);
}

/** The order images are visited in during one epoch. */
export function epochOrder(n: number, shuffle?: { seed: number; epoch: number }): Int32Array {
  if (shuffle) return new Rng(deriveSeed(shuffle.seed, 'shuffle', shuffle.epoch)).permutation(n);
  const order = new Int32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  return order;
}

/** Yields the batches of one epoch. Each batch's x and y belong to the caller, who disposes them. */
export function* batches(set: ImageSet, opts: BatchOptions): Generator<Batch> {
  const { batchSize, pre, shuffle, augment } = opts;
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new RangeError(`batchSize must be a positive integer, got ${batchSize}`);
  if (augment && !shuffle && (augment.crop > 0 || augment.flip)) {
    throw new Error('batches: augmentation needs shuffle {seed, epoch} to seed its random draws');
  }
  const { n, height: h, width: w, channels: c } = set;
  const size = h * w * c;
  const order = epochOrder(n, shuffle);
  const total = numBatches(n, batchSize);
  for (let k = opts.startBatch ?? 0; k < total; k++) {
    const start = k * batchSize;
    const b = Math.min(batchSize, n - start);
    const pixels = new Uint8Array(b * size);
    const labels = new Int32Array(b);
    for (let j = 0; j < b; j++) {
      const i = order[start + j];
      pixels.set(set.images.subarray(i * size, (i + 1) * size), j * size);
      labels[j] = set.labels[i];
    }
    let x = pre.toFloat(pixels, b, h, w, c);
    if (augment && shuffle && (augment.crop > 0 || augment.flip)) {
      const rng = new Rng(deriveSeed(shuffle.seed, 'augment', shuffle.epoch, k));
      x = applyAugment(x, b, h, w, c, drawAugment(rng, b, augment.crop, augment.flip));
    }
    yield { x: tf.tensor4d(x, [b, h, w, c]), y: tf.tensor1d(labels, 'int32'), size: b };
  }
}
