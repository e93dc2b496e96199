// Native dropout: tf.dropout's mask (seedrandom's Alea) drawn in the addon, bit for bit, forward and gradient.
import * as tf from '@tensorflow/tfjs';
import { expect } from 'chai';
import seedrandom from 'seedrandom';

import { aleaState, dropoutOnNative, nativeDropout } from '../../src/backend/native/dropout.js';
import { DROPOUT } from '../../src/backend/native/kernels/dropout.js';
import { nativeCount, nativeReady, outputsOn, randomArray } from './helpers.js';
import { needsNative } from '../requires.js';

describe('native backend: dropout', function () {
  this.timeout(60_000);
  before(function () {
    needsNative(this, nativeReady());
  });
  after(() => tf.setBackend('cpu'));

  it("aleaState is seedrandom's Alea state for the seed's decimal string, from which its first value follows", () => {
    const [s0, s1, s2, c] = aleaState(12345);
    // Alea's step by hand: t = 2091639 * s0 + c * 2^-32; the value is t - floor(t).
    const t = 2091639 * s0 + c * 2 ** -32;
    expect(t - Math.floor(t)).to.equal(seedrandom.alea('12345')());
    expect(aleaState('12345')).to.deep.equal([s0, s1, s2, c]);
    for (const v of [s0, s1, s2]) expect(v).to.be.within(0, 1);
  });

  for (const [shape, rate, seed] of [[[3, 17, 5], 0.5, 7], [[64, 16, 16, 96], 0.5, 2 ** 31 - 1], [[1001], 0.2, 0], [[4, 33], 0.9, 99]] as const) {
    it(`gives tf.dropout's output and gradient bit for bit: shape [${shape}], rate ${rate}, seed ${seed}`, () => {
      const n = shape.reduce((p, d) => p * d, 1);
      const xv = randomArray(n, 3), gv = randomArray(n, 4);
      const run = (f: (x: tf.Tensor) => tf.Tensor) => () => {
        const x = tf.tensor(xv, [...shape]), g = tf.tensor(gv, [...shape]);
        return [f(x), tf.grad((xi: tf.Tensor) => tf.sum(tf.mul(f(xi), g)))(x)];
      };
      const ref = outputsOn('cpu', run((x) => tf.dropout(x, rate, undefined, seed)));
      const calls = nativeCount(DROPOUT), tensors = tf.memory().numTensors;
      const got = outputsOn('native', run((x) => nativeDropout(x, rate, seed)));
      expect(nativeCount(DROPOUT) - calls).to.equal(2);
      expect(tf.memory().numTensors, 'tensors left behind').to.equal(tensors);
      expect(Array.from(got[0]!.values), 'y').to.deep.equal(Array.from(ref[0]!.values));
      expect(Array.from(got[1]!.values), 'dx').to.deep.equal(Array.from(ref[1]!.values));
      // About `rate` of the values dropped (a few standard deviations of the binomial).
      const dropped = ref[0]!.values.filter((v, i) => v === 0 && xv[i] !== 0).length;
      expect(Math.abs(dropped - rate * n)).to.be.at.most(5 * Math.sqrt(n * rate * (1 - rate)) + 1);
    });
  }

  it('a seeded Dropout layer trains through it on native with the cpu backend\'s bits; inference and unseeded layers are tfjs\'s', () => {
    const x = () => tf.tensor(randomArray(2 * 8 * 8 * 6, 5), [2, 8, 8, 6]);
    const layer = dropoutOnNative(tf.layers.dropout({ rate: 0.5 }));
    (layer as unknown as { seed?: number }).seed = 31337;
    const train = () => layer.apply(x(), { training: true }) as tf.Tensor;
    const ref = outputsOn('cpu', train);
    const calls = nativeCount(DROPOUT);
    const got = outputsOn('native', train);
    expect(nativeCount(DROPOUT) - calls).to.equal(1);
    expect(Array.from(got[0]!.values)).to.deep.equal(Array.from(ref[0]!.values));
    // Inference: the input unchanged, no dropout kernel.
    const inferred = outputsOn('native', () => layer.apply(x(), { training: false }) as tf.Tensor);
    expect(Array.from(inferred[0]!.values)).to.deep.equal(Array.from(outputsOn('cpu', x)[0]!.values));
    // Without a seed tfjs draws one from Math.random: the layer's own call runs (no native kernel).
    (layer as unknown as { seed?: number }).seed = undefined;
    outputsOn('native', train);
    expect(nativeCount(DROPOUT) - calls).to.equal(1);
  });
});
