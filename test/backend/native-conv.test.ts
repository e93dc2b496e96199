// Native convolution kernels against the cpu backend: forward, fused bias + activation, and both gradients.
import * as tf from '@tensorflow/tfjs';

import { loadAddon } from '../../src/backend/native/addon.js';
import { expectSameOnBoth, nativeReady, randomTensor } from './helpers.js';
import { needsNative } from '../requires.js';

interface Case {
  n: number;
  h: number;
  w: number;
  ci: number;
  co: number;
  k: number;
  stride: number;
  pad: 'same' | 'valid';
  dilation?: number;
}

const CASES: Case[] = [
  { n: 1, h: 7, w: 9, ci: 3, co: 5, k: 3, stride: 1, pad: 'same' },
  { n: 2, h: 9, w: 7, ci: 3, co: 8, k: 5, stride: 1, pad: 'same' },
  { n: 3, h: 11, w: 11, ci: 4, co: 6, k: 5, stride: 2, pad: 'valid' },
  { n: 1, h: 8, w: 10, ci: 6, co: 7, k: 1, stride: 1, pad: 'valid' },
  { n: 2, h: 9, w: 9, ci: 5, co: 3, k: 3, stride: 2, pad: 'same' },
  { n: 2, h: 10, w: 8, ci: 3, co: 4, k: 1, stride: 2, pad: 'same' },
  { n: 1, h: 13, w: 13, ci: 3, co: 4, k: 3, stride: 1, pad: 'valid', dilation: 2 },
];

const name = (c: Case) =>
  `${c.n}x${c.h}x${c.w}x${c.ci} -> ${c.co}, ${c.k}x${c.k}, stride ${c.stride}, ${c.pad}` + (c.dilation ? `, dilation ${c.dilation}` : '');

describe('native backend: convolutions', function () {
  before(function () {
    needsNative(this, nativeReady());
  });
  after(() => tf.setBackend('cpu'));

  for (const [i, c] of CASES.entries()) {
    const x = () => randomTensor([c.n, c.h, c.w, c.ci], 10 + i) as tf.Tensor4D;
    const w = () => randomTensor([c.k, c.k, c.ci, c.co], 20 + i) as tf.Tensor4D;
    const conv = (a: tf.Tensor4D, b: tf.Tensor4D) => tf.conv2d(a, b, c.stride, c.pad, 'NHWC', c.dilation ?? 1);

    it(`Conv2D forward: ${name(c)}`, () => {
      expectSameOnBoth(() => conv(x(), w()), ['Conv2D']);
    });

    if (c.dilation) continue; // tfjs has no gradient for dilated convolutions
    it(`Conv2D gradients (BackpropInput, BackpropFilter): ${name(c)}`, () => {
      expectSameOnBoth(() => {
        const xt = x(), wt = w();
        const y = conv(xt, wt);
        const g = randomTensor(y.shape, 30 + i);
        return tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(conv(a as tf.Tensor4D, b as tf.Tensor4D), g)))([xt, wt]);
      }, ['Conv2DBackpropInput', 'Conv2DBackpropFilter']);
    });
  }

  for (const activation of ['linear', 'relu', 'relu6', 'elu', 'sigmoid', 'leakyrelu'] as const) {
    it(`FusedConv2D with bias and ${activation}`, () => {
      expectSameOnBoth(() => tf.fused.conv2d({
        x: randomTensor([2, 7, 9, 3], 41) as tf.Tensor4D,
        filter: randomTensor([3, 3, 3, 6], 42) as tf.Tensor4D,
        bias: randomTensor([6], 43),
        strides: 1,
        pad: 'same',
        activation,
        leakyreluAlpha: 0.1,
      }), ['FusedConv2D']);
    });
  }

  it('FusedConv2D gradients (linear activation: tfjs keeps it fused while recording)', () => {
    expectSameOnBoth(() => {
      const x = randomTensor([2, 8, 8, 3], 51) as tf.Tensor4D, w = randomTensor([5, 5, 3, 4], 52) as tf.Tensor4D;
      const b = randomTensor([4], 53), g = randomTensor([2, 4, 4, 4], 54);
      return tf.grads((a: tf.Tensor, f: tf.Tensor, c: tf.Tensor) =>
        tf.sum(tf.mul(tf.fused.conv2d({ x: a as tf.Tensor4D, filter: f as tf.Tensor4D, bias: c, strides: 2, pad: 'same' }), g)))([x, w, b]);
    }, ['FusedConv2D', 'Conv2DBackpropInput', 'Conv2DBackpropFilter', 'Sum']);
  });

  for (const layout of ['plain', 'blocked', 'split'] as const) {
    it(`every convolution kind with the ${layout} layout forced`, () => {
      const addon = loadAddon()!;
      addon.setConvLayout(layout);
      try {
        expectSameOnBoth(() => {
          const x = randomTensor([3, 9, 7, 5], 71) as tf.Tensor4D, w = randomTensor([3, 3, 5, 6], 72) as tf.Tensor4D;
          const g = randomTensor([3, 5, 4, 6], 73), b = randomTensor([6], 74);
          const conv = (a: tf.Tensor, f: tf.Tensor) => tf.conv2d(a as tf.Tensor4D, f as tf.Tensor4D, 2, 'same');
          return [
            tf.fused.conv2d({ x, filter: w, bias: b, strides: 2, pad: 'same', activation: 'relu' }),
            ...tf.grads((a: tf.Tensor, f: tf.Tensor) => tf.sum(tf.mul(conv(a, f), g)))([x, w]),
          ];
        }, ['FusedConv2D', 'Conv2DBackpropInput', 'Conv2DBackpropFilter']);
      } finally {
        addon.setConvLayout('auto');
      }
    });
  }

  it('channels-first input falls back to the cpu kernel with the same result', () => {
    expectSameOnBoth(() => tf.conv2d(randomTensor([1, 3, 6, 6], 61) as tf.Tensor4D, randomTensor([3, 3, 3, 2], 62) as tf.Tensor4D, 1, 'same', 'NCHW'));
  });
});
