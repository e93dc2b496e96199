// Native elementwise, reduction, pooling and matmul kernels against the cpu backend, values and gradients.
import * as tf from '@tensorflow/tfjs';
import { expect } from 'chai';

import { loadAddon } from '../../src/backend/native/addon.js';
import { broadcastPlan } from '../../src/backend/native/kernels/elementwise.js';
import { reducePlan } from '../../src/backend/native/kernels/reduce.js';
import { expectSameOnBoth, nativeReady, randomTensor } from './helpers.js';
import { needsNative } from '../requires.js';

describe('native backend: elementwise kernels', function () {
  before(function () {
    needsNative(this, nativeReady());
  });
  after(() => tf.setBackend('cpu'));

  const x = () => randomTensor([2, 5, 7, 6], 1);

  it('unary activations and maps', () => {
    expectSameOnBoth(() => [
      tf.relu(x()), tf.relu6(tf.mul(x(), 8)), tf.step(x(), 0.3), tf.floor(tf.mul(x(), 3)), tf.neg(x()), tf.square(x()),
      tf.sqrt(tf.abs(x())), tf.rsqrt(tf.add(tf.abs(x()), 0.5)), tf.exp(x()), tf.log(tf.add(tf.abs(x()), 0.1)),
      tf.sigmoid(x()), tf.tanh(x()), tf.abs(x()), tf.elu(x()), tf.leakyRelu(x(), 0.15),
    ], ['Relu', 'Relu6', 'Step', 'Floor', 'Neg', 'Square', 'Sqrt', 'Rsqrt', 'Exp', 'Log', 'Sigmoid', 'Tanh', 'Abs', 'Elu', 'LeakyRelu']);
  });

  it('ReLU gradient in one native kernel', () => {
    expectSameOnBoth(() => {
      const g = randomTensor([2, 5, 7, 6], 2);
      return tf.grad((a: tf.Tensor) => tf.sum(tf.mul(tf.relu(a), g)))(x());
    }, ['GaplabReluGrad']);
  });

  it('binary ops with NHWC broadcasts: full, per-channel bias, scalar, per-row, per-image, row x column', () => {
    expectSameOnBoth(() => {
      const a = x(), c = randomTensor([6], 3), s = tf.scalar(0.7), r = randomTensor([2, 1, 1, 1], 4);
      const row = randomTensor([1, 6], 5), col = randomTensor([4, 1], 6);
      return [
        tf.add(a, c), tf.sub(c, a), tf.mul(a, s), tf.div(s, tf.add(tf.abs(a), 1)), tf.mul(a, r),
        tf.maximum(a, randomTensor([2, 5, 7, 6], 7)), tf.minimum(a, c), tf.squaredDifference(a, c), tf.sub(row, col),
        tf.add(randomTensor([3, 1, 5], 8), randomTensor([4, 1], 9)), tf.mul(randomTensor([2, 1, 1, 6], 12), a),
        tf.add(randomTensor([3, 1, 5, 1], 13), randomTensor([1, 4, 1, 2], 14)), // four segments: cpu fallback
      ];
    }, ['Add', 'Sub', 'Multiply', 'RealDiv', 'Maximum', 'Minimum', 'SquaredDifference']);
  });

  it('bias add and its gradient (Sum over N,H,W)', () => {
    expectSameOnBoth(() => {
      const g = randomTensor([2, 5, 7, 6], 10);
      return tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(tf.add(a, b), g)))([x(), randomTensor([6], 11)]);
    }, ['Add', 'Sum']);
  });

  it("dropout's ops (same seed on both backends)", () => {
    expectSameOnBoth(() => tf.dropout(x(), 0.4, undefined, 7), ['Add', 'Floor', 'RealDiv', 'Multiply']);
  });

  it('plans broadcasts as <= 3 dims with strides, and reductions as [outer, reduced, inner]', () => {
    const plan = (a: number[], b: number[]) => {
      const p = broadcastPlan(a, b);
      return p && { dims: p.dims, a: Array.from(p.aStrides), b: Array.from(p.bStrides) };
    };
    expect(plan([2, 3, 4], [4])).to.deep.equal({ dims: [1, 6, 4], a: [0, 4, 1], b: [0, 0, 1] });
    expect(plan([2, 3], [2, 1])).to.deep.equal({ dims: [1, 2, 3], a: [0, 3, 1], b: [0, 1, 0] });
    expect(plan([64, 1, 1, 10], [64, 8, 8, 10])).to.deep.equal({ dims: [64, 64, 10], a: [10, 0, 1], b: [640, 10, 1] });
    expect(plan([5], [5])).to.deep.equal({ dims: [1, 1, 5], a: [0, 0, 1], b: [0, 0, 1] });
    expect(plan([3, 1, 5, 1], [1, 4, 1, 2])).to.equal(undefined);
    expect(reducePlan([8, 4, 4, 6], [0, 1, 2], false)).to.deep.equal({ outer: 1, reduced: 128, inner: 6, outShape: [6] });
    expect(reducePlan([8, 1, 4, 6], [0, 2], true)).to.deep.equal({ outer: 1, reduced: 32, inner: 6, outShape: [1, 1, 1, 6] });
    expect(reducePlan([8, 4, 4, 6], [0, 2], false)).to.equal(undefined);
  });
});

describe('native backend: reductions', function () {
  before(function () {
    needsNative(this, nativeReady());
  });
  after(() => tf.setBackend('cpu'));

  it('Sum, Mean, Max, Min over leading, inner, middle and all axes', () => {
    expectSameOnBoth(() => {
      const a = randomTensor([3, 5, 7, 9], 20);
      return [
        tf.sum(a, [0, 1, 2]), tf.sum(a, 3), tf.sum(a, [1, 2], true), tf.sum(a), tf.mean(a, [1, 2]), tf.mean(a, 0),
        tf.max(a, 3), tf.min(a, [0, 1]), tf.sum(a, [0, 2]), // last: not contiguous, cpu fallback
      ];
    }, ['Sum', 'Mean', 'Max', 'Min']);
  });

  it('a large bias gradient splits rows across threads', () => {
    expectSameOnBoth(() => tf.sum(randomTensor([64, 32, 32, 5], 21), [0, 1, 2]), ['Sum']);
  });

  it('global average pooling (Mean over H,W) and its gradient', () => {
    expectSameOnBoth(() => {
      const g = randomTensor([2, 10], 22);
      return tf.grad((a: tf.Tensor) => tf.sum(tf.mul(tf.mean(a, [1, 2]), g)))(randomTensor([2, 8, 8, 10], 23));
    }, ['Mean', 'GaplabBroadcastDiv']);
  });

  it('Mean gradients over leading, trailing and all axes; Square gradient; Fill', () => {
    expectSameOnBoth(() => {
      const a = randomTensor([3, 4, 5, 6], 24);
      const grad = (f: (t: tf.Tensor) => tf.Tensor) => tf.grad((t: tf.Tensor) => tf.sum(tf.mul(f(t), tf.sin(f(t)))))(a);
      return [
        grad((t) => tf.mean(t, [0, 1, 2])), grad((t) => tf.mean(t, 3, true)), grad((t) => tf.mean(t)),
        grad((t) => tf.square(t)), tf.ones([3, 70000]), tf.fill([2, 3], 0.25),
      ];
    }, ['GaplabBroadcastDiv', 'GaplabSquareGrad', 'Fill']);
  });
});

describe('native backend: pooling', function () {
  before(function () {
    needsNative(this, nativeReady());
  });
  after(() => tf.setBackend('cpu'));

  const cases = [
    { n: 1, h: 9, w: 7, c: 5, k: 3, s: 2, pad: 'same' as const },
    { n: 2, h: 8, w: 8, c: 70, k: 2, s: 2, pad: 'valid' as const },
    { n: 3, h: 7, w: 11, c: 3, k: 3, s: 1, pad: 'same' as const },
    { n: 1, h: 10, w: 9, c: 4, k: 3, s: 2, pad: 'valid' as const },
  ];
  for (const [i, c] of cases.entries()) {
    const label = `${c.n}x${c.h}x${c.w}x${c.c}, ${c.k}x${c.k}, stride ${c.s}, ${c.pad}`;
    for (const kind of ['max', 'avg'] as const) {
      const pool = (a: tf.Tensor) =>
        kind === 'max' ? tf.maxPool(a as tf.Tensor4D, c.k, c.s, c.pad) : tf.avgPool(a as tf.Tensor4D, c.k, c.s, c.pad);
      const kernels = kind === 'max' ? ['MaxPool', 'MaxPoolGrad'] : ['AvgPool', 'AvgPoolGrad'];
      it(`${kind} pool and gradient: ${label}`, () => {
        expectSameOnBoth(() => {
          const a = randomTensor([c.n, c.h, c.w, c.c], 30 + i);
          const y = pool(a);
          const g = randomTensor(y.shape, 40 + i);
          return [y, tf.grad((t: tf.Tensor) => tf.sum(tf.mul(pool(t), g)))(a)];
        }, kernels);
      });
    }
  }
});

describe('native backend: matrix products', function () {
  before(function () {
    needsNative(this, nativeReady());
  });
  after(() => tf.setBackend('cpu'));

  it('MatMul with transposes and broadcast batches', () => {
    expectSameOnBoth(() => [
      tf.matMul(randomTensor([5, 7], 50), randomTensor([7, 3], 51)),
      tf.matMul(randomTensor([7, 5], 52), randomTensor([7, 3], 53), true, false),
      tf.matMul(randomTensor([5, 7], 54), randomTensor([3, 7], 55), false, true),
      tf.matMul(randomTensor([2, 7, 5], 56), randomTensor([2, 3, 7], 57), true, true),
      tf.matMul(randomTensor([4, 5, 7], 58), randomTensor([7, 3], 59)),
    ], ['BatchMatMul']);
  });

  it('fused dense layer (bias + relu) and its gradients', () => {
    expectSameOnBoth(() => {
      const a = randomTensor([6, 9], 60), b = randomTensor([9, 4], 61), bias = randomTensor([4], 62);
      const fwd = tf.fused.matMul({ a: a as tf.Tensor2D, b: b as tf.Tensor2D, bias, activation: 'relu' });
      const g = randomTensor([6, 4], 63);
      const grads = tf.grads((p: tf.Tensor, q: tf.Tensor, r: tf.Tensor) =>
        tf.sum(tf.mul(tf.fused.matMul({ a: p as tf.Tensor2D, b: q as tf.Tensor2D, bias: r }), g)))([a, b, bias]);
      return [fwd, ...grads];
    }, ['_FusedMatMul', 'BatchMatMul']);
  });
});

describe('native addon: bad input', function () {
  before(function () {
    needsNative(this, nativeReady());
  });

  it('throws JS errors instead of crashing', () => {
    const addon = loadAddon()!;
    const shape = Int32Array.from([1, 4, 4, 1, 4, 4, 1, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1]);
    const small = new Float32Array(3);
    expect(() => addon.convForward(shape, small, new Float32Array(9), null, new Float32Array(16), 0, 0)).to.throw(TypeError, /x has 3 elements/);
    expect(() => addon.convForward(Int32Array.from([1, 2]), small, small, null, small, 0, 0)).to.throw(TypeError, /shape must hold 17/);
    const badPad = Int32Array.from([1, 4, 4, 1, 9, 9, 1, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1]);
    expect(() => addon.convForward(badPad, new Float32Array(16), new Float32Array(9), null, new Float32Array(81), 0, 0)).to.throw(TypeError, /output size/);
    const st = Int32Array.from([0, 0, 1]);
    expect(() => addon.binary(0, new Float32Array(4), st, new Float32Array(4), st, new Float32Array(3), Int32Array.from([1, 1, 4]))).to.throw(TypeError, /y has 3/);
    expect(() => addon.binary(0, new Float32Array(2), st, new Float32Array(4), st, new Float32Array(4), Int32Array.from([1, 1, 4]))).to.throw(TypeError, /too short/);
    expect(() => addon.binary(0, new Float32Array(4), Int32Array.from([0, 0, 2]), new Float32Array(4), st, new Float32Array(4), Int32Array.from([1, 1, 4]))).to.throw(TypeError, /strides/);
    expect(() => addon.reduce(9, new Float32Array(4), new Float32Array(1), 1, 4, 1)).to.throw(TypeError, /unknown op/);
    expect(() => addon.poolForward(0, Int32Array.from([1, 4, 4, 1, 2, 2, 2, 2, 2, 2, 0, 0]), new Float32Array(16), new Float32Array(3))).to.throw(TypeError);
    expect(() => addon.matmul(new Float32Array(6), new Float32Array(6), new Float32Array(4), Int32Array.from([1, 1, 2, 2, 4, 0, 0]), null, 0, 0)).to.throw(TypeError);
    expect(() => (addon.unary as (...a: unknown[]) => void)(0, [1, 2], new Float32Array(2), 0)).to.throw(TypeError, /Float32Array/);
  });
});

describe('native backend: batch normalization and residual adds', function () {
  before(function () {
    needsNative(this, nativeReady());
  });
  after(() => tf.setBackend('cpu'));

  it('FusedBatchNorm forward with and without offset and scale', () => {
    expectSameOnBoth(() => {
      const x = randomTensor([2, 5, 7, 6], 70);
      const mean = randomTensor([6], 71), variance = tf.add(tf.abs(randomTensor([6], 72)), 0.1);
      return [
        tf.batchNorm(x, mean, variance, randomTensor([6], 73), randomTensor([6], 74), 0.001),
        tf.batchNorm(x, mean, variance, undefined, undefined, 1e-5),
      ];
    }, ['FusedBatchNorm']);
  });

  it('training-mode batch norm (moments + batchNorm) gradients to x, gamma and beta', () => {
    expectSameOnBoth(() => {
      const x = randomTensor([4, 6, 5, 7], 75), gamma = randomTensor([7], 76), beta = randomTensor([7], 77);
      const g = randomTensor([4, 6, 5, 7], 78);
      return tf.grads((a: tf.Tensor, s: tf.Tensor, o: tf.Tensor) => {
        const { mean, variance } = tf.moments(a, [0, 1, 2]);
        return tf.sum(tf.mul(tf.batchNorm(a, mean, variance, o, s, 0.001), g));
      })([x, gamma, beta]);
    }, ['FusedBatchNorm', 'GaplabBatchNormGrad', 'Mean']);
  });

  it('residual add: gradient reaches both branches', () => {
    expectSameOnBoth(() => {
      const x = randomTensor([2, 6, 6, 4], 79), w = randomTensor([3, 3, 4, 4], 80), g = randomTensor([2, 6, 6, 4], 81);
      return tf.grads((a: tf.Tensor, f: tf.Tensor) =>
        tf.sum(tf.mul(tf.relu(tf.add(a, tf.conv2d(a as tf.Tensor4D, f as tf.Tensor4D, 1, 'same'))), g)))([x, w]);
    }, ['Add', 'Conv2D', 'GaplabReluGrad']);
  });
});
