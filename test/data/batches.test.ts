// Batches: every index once per epoch, seeded shuffle/augmentation, exact crop/flip, startBatch resume, no tensor leaks.
import { expect } from 'chai';
import * as tf from '@tensorflow/tfjs';
import { applyAugment, drawAugment } from '../../src/data/augment.js';
import { batches, numBatches, type Batch } from '../../src/data/batches.js';
import type { Preprocessor } from '../../src/data/preprocess.js';
import type { ImageSet } from '../../src/data/types.js';
import { deriveSeed, Rng } from '../../src/util/rng.js';

/** Float copy of the bytes, so pixel values pass through unchanged. */
const identity: Preprocessor = { kind: 'identity', toFloat: (im) => Float32Array.from(im), toJSON: () => ({ kind: 'identity' }) };

/** n images of 3x3x1 whose 9 pixels are id*10 + 1..9 (ids < 25), label = id. */
function tiny(n: number): ImageSet {
  const images = new Uint8Array(n * 9);
  for (let i = 0; i < n; i++) for (let p = 0; p < 9; p++) images[i * 9 + p] = i * 10 + p + 1;
  return { images, labels: Int32Array.from({ length: n }, (_, i) => i), n, height: 3, width: 3, channels: 1 };
}

function collect(gen: Generator<Batch>): { x: number[][]; y: number[][]; sizes: number[] } {
  const out = { x: [] as number[][], y: [] as number[][], sizes: [] as number[] };
  for (const b of gen) {
    out.x.push(Array.from(b.x.dataSync()));
    out.y.push(Array.from(b.y.dataSync()));
    out.sizes.push(b.size);
    expect(b.x.dtype).to.equal('float32');
    expect(b.y.dtype).to.equal('int32');
    expect(b.x.shape).to.deep.equal([b.size, 3, 3, 1]);
    b.x.dispose();
    b.y.dispose();
  }
  return out;
}

describe('data/batches', () => {
  it('numBatches keeps the last partial batch', () => {
    expect(numBatches(10, 4)).to.equal(3);
    expect(numBatches(8, 4)).to.equal(2);
    expect(numBatches(0, 4)).to.equal(0);
    expect(numBatches(1, 64)).to.equal(1);
  });

  it('visits every image exactly once per epoch, labels matching pixels', () => {
    const set = tiny(10);
    const { x, y, sizes } = collect(batches(set, { batchSize: 4, pre: identity, shuffle: { seed: 1, epoch: 0 } }));
    expect(sizes).to.deep.equal([4, 4, 2]);
    const labels = y.flat();
    expect([...labels].sort((a, b) => a - b)).to.deep.equal([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(labels).to.not.deep.equal([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]); // shuffled
    const pixels = x.flat();
    labels.forEach((id, k) => expect(pixels.slice(9 * k, 9 * k + 9)).to.deep.equal([1, 2, 3, 4, 5, 6, 7, 8, 9].map((p) => id * 10 + p)));
  });

  it('without shuffle keeps dataset order; the shuffle is the permutation of Rng(seed/shuffle/epoch)', () => {
    const set = tiny(7);
    expect(collect(batches(set, { batchSize: 3, pre: identity })).y.flat()).to.deep.equal([0, 1, 2, 3, 4, 5, 6]);
    const order = Array.from(new Rng(deriveSeed(5, 'shuffle', 2)).permutation(7));
    expect(collect(batches(set, { batchSize: 3, pre: identity, shuffle: { seed: 5, epoch: 2 } })).y.flat()).to.deep.equal(order);
    const e3 = collect(batches(set, { batchSize: 3, pre: identity, shuffle: { seed: 5, epoch: 3 } })).y.flat();
    expect(e3).to.not.deep.equal(order);
  });

  it('crop and flip move pixels exactly (3x3 image, zero padding)', () => {
    const img = Float32Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9]);
    // Shift content up one row: output(y, x) = input(y + 1, x); the bottom row comes from the padding.
    expect(Array.from(applyAugment(img, 1, 3, 3, 1, [{ dy: 1, dx: 0, flip: false }]))).to.deep.equal([4, 5, 6, 7, 8, 9, 0, 0, 0]);
    // Shift content right: output(y, x) = input(y, x - 1).
    expect(Array.from(applyAugment(img, 1, 3, 3, 1, [{ dy: 0, dx: -1, flip: false }]))).to.deep.equal([0, 1, 2, 0, 4, 5, 0, 7, 8]);
    // Mirror only.
    expect(Array.from(applyAugment(img, 1, 3, 3, 1, [{ dy: 0, dx: 0, flip: true }]))).to.deep.equal([3, 2, 1, 6, 5, 4, 9, 8, 7]);
    // Crop then mirror: the shifted [0,1,2 / 0,4,5 / 0,7,8] mirrored.
    expect(Array.from(applyAugment(img, 1, 3, 3, 1, [{ dy: 0, dx: -1, flip: true }]))).to.deep.equal([2, 1, 0, 5, 4, 0, 8, 7, 0]);
    // Channels move together (1x2 image, 2 channels).
    const rgb = Float32Array.from([1, 2, 3, 4]);
    expect(Array.from(applyAugment(rgb, 1, 1, 2, 2, [{ dy: 0, dx: 0, flip: true }]))).to.deep.equal([3, 4, 1, 2]);
  });

  it('augment draws are seeded, in range, and absent when off', () => {
    const a = drawAugment(new Rng('s'), 50, 2, true);
    expect(a).to.deep.equal(drawAugment(new Rng('s'), 50, 2, true));
    for (const d of a) {
      expect(d.dy).to.be.within(-2, 2);
      expect(d.dx).to.be.within(-2, 2);
    }
    expect(new Set(a.map((d) => d.dx)).size).to.equal(5);
    expect(a.some((d) => d.flip) && a.some((d) => !d.flip)).to.equal(true);
    const rng = new Rng('t');
    const before = JSON.stringify(rng.state());
    expect(drawAugment(rng, 3, 0, false)).to.deep.equal([0, 1, 2].map(() => ({ dy: 0, dx: 0, flip: false })));
    expect(JSON.stringify(rng.state())).to.equal(before);
  });

  it('batch k is augmented with Rng(seed/augment/epoch/k)', () => {
    const set = tiny(10);
    const opts = { batchSize: 4, pre: identity, shuffle: { seed: 9, epoch: 1 }, augment: { crop: 1, flip: true } };
    const got = collect(batches(set, opts));
    const plain = collect(batches(set, { ...opts, augment: undefined }));
    for (let k = 0; k < 3; k++) {
      const b = plain.sizes[k];
      const draws = drawAugment(new Rng(deriveSeed(9, 'augment', 1, k)), b, 1, true);
      expect(got.x[k]).to.deep.equal(Array.from(applyAugment(Float32Array.from(plain.x[k]), b, 3, 3, 1, draws)));
      expect(got.y[k]).to.deep.equal(plain.y[k]);
    }
    expect(collect(batches(set, opts)).x).to.deep.equal(got.x);
    expect(collect(batches(set, { ...opts, shuffle: { seed: 9, epoch: 2 } })).x).to.not.deep.equal(got.x);
  });

  it('startBatch resumes: the batches from k on equal the tail of an uninterrupted epoch', () => {
    const set = tiny(23);
    const opts = { batchSize: 5, pre: identity, shuffle: { seed: 3, epoch: 4 }, augment: { crop: 1, flip: true } };
    const full = collect(batches(set, opts));
    const tail = collect(batches(set, { ...opts, startBatch: 2 }));
    expect(tail.x).to.deep.equal(full.x.slice(2));
    expect(tail.y).to.deep.equal(full.y.slice(2));
    expect(tail.sizes).to.deep.equal([5, 5, 3]);
  });

  it('augmentation without a seed is refused', () => {
    expect(() => batches(tiny(3), { batchSize: 2, pre: identity, augment: { crop: 1, flip: false } }).next()).to.throw('shuffle');
  });

  it('leaks no tensors when the caller disposes each batch', () => {
    const set = tiny(20);
    const before = tf.memory().numTensors;
    for (let epoch = 0; epoch < 3; epoch++) {
      collect(batches(set, { batchSize: 6, pre: identity, shuffle: { seed: 1, epoch }, augment: { crop: 1, flip: true } }));
    }
    expect(tf.memory().numTensors).to.equal(before);
  });
});
