// The webgpu backend's kernels for every op NIN, the Keras CNN and ResNet use, forward and gradient, against cpu.
import * as tf from '@tensorflow/tfjs';

import { crossEntropy, countCorrect } from '../../src/train/step.js';
import { randomTensor } from './helpers.js';
import { expectSameOnWebgpu, needsWebgpu } from './webgpu-helpers.js';

/** d/dinputs of sum(f(inputs) * g) for a fixed random g: every input's gradient in one call. */
function gradsOf(f: (...t: tf.Tensor[]) => tf.Tensor, inputs: tf.Tensor[], seed: number): tf.Tensor[] {
  const g = randomTensor(tf.tidy(() => f(...inputs)).shape, seed);
  return tf.grads((...t: tf.Tensor[]) => tf.sum(tf.mul(f(...t), g)))(inputs);
}

describe('webgpu backend: kernels against cpu', function () {
  before(async function () {
    await needsWebgpu(this);
  });
  after(() => tf.setBackend('cpu'));

  const x = () => randomTensor([2, 5, 7, 6], 1);

  it('elementwise: activations, the optimizers\' maps, broadcasts (per-channel bias, scalar, per-row)', async () => {
    await expectSameOnWebgpu(() => {
      const a = x(), c = randomTensor([6], 3), s = tf.scalar(0.7), r = randomTensor([2, 1, 1, 1], 4);
      return [
        tf.relu(a), tf.neg(a), tf.square(a), tf.sqrt(tf.abs(a)), tf.exp(a), tf.log(tf.add(tf.abs(a), 0.1)), tf.floor(tf.mul(a, 3)),
        tf.add(a, c), tf.sub(c, a), tf.mul(a, s), tf.div(a, tf.add(tf.abs(c), 1)), tf.mul(a, r), tf.maximum(a, c),
      ];
    });
  });

  it('ReLU and bias-add gradients', async () => {
    await expectSameOnWebgpu(() => gradsOf((a, b) => tf.relu(tf.add(a!, b!)), [x(), randomTensor([6], 2)], 5));
  });

  it("dropout's ops (same seed on both backends)", async () => {
    await expectSameOnWebgpu(() => tf.dropout(x(), 0.4, undefined, 7));
  });

  const convs = [
    { title: '5x5 same, 3 -> 8 (NIN block 1)', x: [2, 9, 9, 3], k: 5, cout: 8, stride: 1, pad: 'same' as const },
    { title: '3x3 same, stride 1', x: [2, 7, 7, 4], k: 3, cout: 6, stride: 1, pad: 'same' as const },
    { title: '3x3 valid (Keras CNN)', x: [2, 8, 8, 4], k: 3, cout: 5, stride: 1, pad: 'valid' as const },
    { title: '3x3 same, stride 2 (ResNet stage entry)', x: [2, 8, 8, 4], k: 3, cout: 8, stride: 2, pad: 'same' as const },
    { title: '1x1 (mlpconv, GAP class maps)', x: [2, 6, 6, 8], k: 1, cout: 7, stride: 1, pad: 'same' as const },
    { title: '1x1 stride 2 (ResNet projection)', x: [2, 8, 8, 4], k: 1, cout: 8, stride: 2, pad: 'same' as const },
  ];
  for (const [i, c] of convs.entries()) {
    it(`conv2d ${c.title}: fused bias + ReLU forward, and gradients to x, filter and bias`, async () => {
      await expectSameOnWebgpu(() => {
        const inputs = [randomTensor(c.x, 10 + i), randomTensor([c.k, c.k, c.x[3]!, c.cout], 20 + i), randomTensor([c.cout], 30 + i)];
        const conv = (a: tf.Tensor, f: tf.Tensor, b: tf.Tensor) =>
          tf.fused.conv2d({ x: a as tf.Tensor4D, filter: f as tf.Tensor4D, strides: c.stride, pad: c.pad, bias: b, activation: 'relu' });
        const plain = (a: tf.Tensor, f: tf.Tensor) => tf.conv2d(a as tf.Tensor4D, f as tf.Tensor4D, c.stride, c.pad);
        return [conv(inputs[0]!, inputs[1]!, inputs[2]!), ...gradsOf((a, f, b) => conv(a!, f!, b!), inputs, 40 + i),
          ...gradsOf((a, f) => plain(a!, f!), inputs.slice(0, 2), 50 + i)];
      });
    });
  }

  const pools = [
    { title: '3x3 stride 2 same (NIN)', x: [2, 9, 7, 5], k: 3, s: 2, pad: 'same' as const },
    { title: '2x2 stride 2 valid (Keras CNN)', x: [2, 8, 6, 4], k: 2, s: 2, pad: 'valid' as const },
  ];
  for (const [i, c] of pools.entries()) {
    it(`max and average pooling ${c.title}, forward and gradient`, async () => {
      await expectSameOnWebgpu(() => {
        const a = randomTensor(c.x, 60 + i);
        const max = (t: tf.Tensor) => tf.maxPool(t as tf.Tensor4D, c.k, c.s, c.pad);
        const avg = (t: tf.Tensor) => tf.avgPool(t as tf.Tensor4D, c.k, c.s, c.pad);
        return [max(a), avg(a), ...gradsOf((t) => max(t!), [a], 70 + i), ...gradsOf((t) => avg(t!), [a], 80 + i)];
      });
    });
  }

  it('global average pooling (Mean over H, W), flatten, Sum and Mean reductions, with gradients', async () => {
    await expectSameOnWebgpu(() => {
      const a = randomTensor([3, 5, 7, 9], 90);
      return [
        tf.mean(a, [1, 2]), tf.sum(a, [0, 1, 2]), tf.sum(a), tf.mean(a), tf.reshape(a, [3, -1]),
        ...gradsOf((t) => tf.mean(t!, [1, 2]), [a], 91), ...gradsOf((t) => tf.reshape(t!, [3, -1]), [a], 92),
      ];
    });
  });

  it('dense layers: fused matMul (bias, ReLU) forward and gradients, plain matMul with transposes', async () => {
    await expectSameOnWebgpu(() => {
      const a = randomTensor([6, 9], 100), b = randomTensor([9, 4], 101), bias = randomTensor([4], 102);
      const dense = (p: tf.Tensor, q: tf.Tensor, r: tf.Tensor) =>
        tf.fused.matMul({ a: p as tf.Tensor2D, b: q as tf.Tensor2D, bias: r, activation: 'relu' });
      return [
        dense(a, b, bias), ...gradsOf((p, q, r) => dense(p!, q!, r!), [a, b, bias], 103),
        tf.matMul(randomTensor([7, 5], 104), randomTensor([7, 3], 105), true, false),
        tf.matMul(randomTensor([5, 7], 106), randomTensor([3, 7], 107), false, true),
      ];
    });
  });

  it('batch norm: inference with moving statistics; training (moments + batchNorm) with gradients to x, gamma, beta', async () => {
    await expectSameOnWebgpu(() => {
      const a = randomTensor([4, 6, 5, 7], 110), gamma = randomTensor([7], 111), beta = randomTensor([7], 112);
      const mean = randomTensor([7], 113), variance = tf.add(tf.abs(randomTensor([7], 114)), 0.1);
      const train = (t: tf.Tensor, s: tf.Tensor, o: tf.Tensor) => {
        const m = tf.moments(t, [0, 1, 2]);
        return tf.batchNorm(t, m.mean, m.variance, o, s, 1e-5);
      };
      return [tf.batchNorm(a, mean, variance, beta, gamma, 1e-5), train(a, gamma, beta), ...gradsOf((t, s, o) => train(t!, s!, o!), [a, gamma, beta], 115)];
    });
  });

  it('residual add: the gradient reaches both branches', async () => {
    await expectSameOnWebgpu(() => gradsOf((a, f) => tf.relu(tf.add(a!, tf.conv2d(a as tf.Tensor4D, f as tf.Tensor4D, 1, 'same'))),
      [randomTensor([2, 6, 6, 4], 120), randomTensor([3, 3, 4, 4], 121)], 122));
  });

  it('softmax cross-entropy (oneHot, logSoftmax) with its gradient; softmax; correct count (argMax, equal, cast)', async () => {
    await expectSameOnWebgpu(() => {
      const logits = tf.mul(randomTensor([6, 5], 130), 4) as tf.Tensor2D;
      const labels = tf.tensor1d([0, 4, 2, 2, 1, 3], 'int32');
      return [
        crossEntropy(logits, labels), tf.grad((l: tf.Tensor) => crossEntropy(l as tf.Tensor2D, labels))(logits),
        tf.softmax(logits), countCorrect(logits, labels),
      ];
    });
  });

  it("the optimizers' update arithmetic (SGD momentum, Adam: sqrt, div, weight decay)", async () => {
    await expectSameOnWebgpu(() => {
      const v = randomTensor([3, 3, 4, 8], 140), g = randomTensor([3, 3, 4, 8], 141), m = randomTensor([3, 3, 4, 8], 142);
      const s = tf.abs(randomTensor([3, 3, 4, 8], 143));
      const gd = tf.add(g, tf.mul(v, 5e-4));
      const buf = tf.add(tf.mul(m, 0.9), gd);
      return [tf.sub(v, tf.mul(buf, 0.05)), tf.sub(v, tf.div(tf.mul(m, 0.003), tf.add(tf.sqrt(s), 1e-7)))];
    });
  });
});
