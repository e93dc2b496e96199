// The fused conv + bias + ReLU op of the native backend against tfjs's cpu conv2d, add, relu: values and gradients.
import * as tf from '@tensorflow/tfjs';
import { expect } from 'chai';

import { convBiasRelu, fuseConvOnNative } from '../../src/backend/native/fused-conv.js';
import { reluBiasGradCalls, RELU_BIAS_GRAD } from '../../src/backend/native/kernels/fused.js';
import { BuildContext } from '../../src/models/context.js';
import { variableGradsFreeing } from '../../src/train/grads.js';
import { needsNative } from '../requires.js';
import { nativeCount, nativeReady, outputsOn, randomTensor, relError } from './helpers.js';

interface Case {
  name: string;
  x: number[];
  filter: number[];
  strides: [number, number];
  pad: 'same' | 'valid';
}

const CASES: Case[] = [
  { name: '5x5 same, 3 -> 8 channels', x: [2, 9, 9, 3], filter: [5, 5, 3, 8], strides: [1, 1], pad: 'same' },
  { name: '1x1, 8 -> 6 channels', x: [3, 5, 5, 8], filter: [1, 1, 8, 6], strides: [1, 1], pad: 'same' },
  { name: '3x3 stride 2 valid', x: [2, 10, 11, 4], filter: [3, 3, 4, 5], strides: [2, 2], pad: 'valid' },
];

/** relu(conv2d(x, w) + b) and its gradients by x, w and b for the output weighted by `g` (sum of g * y). */
function valueAndGrads(c: Case, fused: boolean, backprop: 'tfjs' | 'freeing'): tf.Tensor[] {
  const x = randomTensor(c.x, 1) as tf.Tensor4D;
  const w = tf.mul(randomTensor(c.filter, 2), 0.5) as tf.Tensor4D;
  // A bias that pushes about half the outputs below zero, so the ReLU gradient's mask matters.
  const b = randomTensor([c.filter[3]!], 3) as tf.Tensor1D;
  const f = (xi: tf.Tensor4D, wi: tf.Tensor4D, bi: tf.Tensor1D) =>
    fused ? convBiasRelu(xi, wi, bi, { strides: c.strides, pad: c.pad }) : tf.relu(tf.add(tf.conv2d(xi, wi, c.strides, c.pad), bi));
  const y = f(x, w, b);
  const g = randomTensor(y.shape, 4);
  const loss = (...t: tf.Tensor[]) => tf.sum(tf.mul(f(t[0] as tf.Tensor4D, t[1] as tf.Tensor4D, t[2] as tf.Tensor1D), g)) as tf.Scalar;
  if (backprop === 'tfjs') return [y, ...tf.grads(loss)([x, w, b])];
  const vars = [tf.variable(x), tf.variable(w), tf.variable(b)];
  const { value, grads } = variableGradsFreeing(() => loss(...vars), vars);
  const out = [y, ...vars.map((v) => grads[v.name]!)];
  value.dispose();
  vars.forEach((v) => v.dispose());
  return out;
}

describe('native backend: fused conv + bias + ReLU', function () {
  before(function () {
    needsNative(this, nativeReady());
  });
  after(() => tf.setBackend('cpu'));

  for (const c of CASES) {
    it(`${c.name}: output and the gradients of x, filter and bias match cpu conv2d + add + relu (1e-5)`, () => {
      const ref = outputsOn('cpu', () => valueAndGrads(c, false, 'tfjs'));
      for (const backprop of ['tfjs', 'freeing'] as const) {
        const calls = nativeCount(RELU_BIAS_GRAD), inPlace = reluBiasGradCalls.inPlace;
        const start = tf.memory().numTensors;
        const got = outputsOn('native', () => valueAndGrads(c, true, backprop));
        expect(tf.memory().numTensors, 'tensors leaked').to.equal(start);
        expect(nativeCount(RELU_BIAS_GRAD), 'native backward kernel ran').to.equal(calls + 1);
        // tfjs's backprop keeps every gradient to its end (no donation); ours hands dy over, so dz is written in place.
        expect(reluBiasGradCalls.inPlace - inPlace, `${backprop}: in-place calls`).to.equal(backprop === 'freeing' ? 1 : 0);
        ref.forEach((r, i) => {
          expect(got[i]!.shape).to.deep.equal(r.shape);
          expect(relError(r.values, got[i]!.values), `${backprop}: output ${i}`).to.be.at.most(1e-5);
        });
        // Some outputs are clipped, so a wrong mask would show.
        expect(Array.from(got[0]!.values).filter((v) => v === 0).length).to.be.greaterThan(0);
      }
    });
  }

  it('the backward kernel: dz = dy where y > 0 (0 at y = 0 and NaN), bias gradient = Sum of dz exactly, in place too', () => {
    tf.setBackend('native');
    tf.tidy(() => {
      const y = tf.tensor2d([[1, 0, NaN], [-2, 3, 0.5], [4, -1, 2]]);
      const dy = tf.tensor2d([[10, 20, 30], [40, 50, 60], [70, 80, 90]]);
      const [dz, db] = tf.engine().runKernel(RELU_BIAS_GRAD, { dy, y }) as tf.Tensor[];
      expect(Array.from(dz!.dataSync())).to.deep.equal([10, 0, 0, 0, 50, 60, 70, 0, 90]);
      expect(Array.from(db!.dataSync())).to.deep.equal([80, 50, 150]);
      // Large enough to split rows over threads; the bias gradient equals the Sum kernel's (same order of sums).
      const yb = randomTensor([64, 40, 40, 24], 5), dyb = randomTensor([64, 40, 40, 24], 6);
      const [dzb, dbb] = tf.engine().runKernel(RELU_BIAS_GRAD, { dy: dyb, y: yb }) as tf.Tensor[];
      expect(Array.from(dbb!.dataSync())).to.deep.equal(Array.from(tf.sum(dzb!, [0, 1, 2]).dataSync()));
      const copy = dyb.clone();
      const [dzIn] = tf.engine().runKernel(RELU_BIAS_GRAD, { dy: copy, y: yb }, { inPlace: true }) as tf.Tensor[];
      expect(Array.from(dzIn!.dataSync())).to.deep.equal(Array.from(dzb!.dataSync()));
      // In place means dz shares dy's buffer.
      expect(Array.from(copy.dataSync())).to.deep.equal(Array.from(dzb!.dataSync()));
    });
  });

  it('NIN conv layers use it on native, and stay tfjs Conv2D layers (class, config and weights) everywhere', () => {
    const build = () => {
      const ctx = new BuildContext(3, 'heNormal');
      const input = tf.input({ shape: [8, 8, 3] });
      const out = ctx.conv('c1', 4, 3).apply(input) as tf.SymbolicTensor;
      return tf.model({ inputs: input, outputs: ctx.conv('c2', 2, 1, { activation: 'linear' }).apply(out) as tf.SymbolicTensor });
    };
    const x = () => randomTensor([2, 8, 8, 3], 9);
    const ref = outputsOn('cpu', () => build().predict(x()) as tf.Tensor);
    tf.setBackend('native');
    const model = build();
    const got = outputsOn('native', () => model.predict(x()) as tf.Tensor);
    expect(relError(ref[0]!.values, got[0]!.values)).to.be.at.most(1e-5);
    // Training: the ReLU layer's backward pass is the fused op's (the linear one keeps tfjs's fused conv gradient).
    const calls = nativeCount(RELU_BIAS_GRAD);
    tf.tidy(() => tf.variableGrads(() => tf.sum(model.apply(x(), { training: true }) as tf.Tensor) as tf.Scalar));
    expect(nativeCount(RELU_BIAS_GRAD)).to.equal(calls + 1);
    expect(model.layers[1]!.getClassName()).to.equal('Conv2D');
    expect(JSON.stringify(model.toJSON(undefined, false))).to.not.include('convBiasRelu');
    model.dispose();
    // A layer on which it cannot apply (linear activation) keeps tfjs's own call: fuseConvOnNative is a no-op there.
    const linear = fuseConvOnNative(tf.layers.conv2d({ filters: 2, kernelSize: 1, activation: 'linear' }));
    expect(tf.tidy(() => (linear.apply(tf.ones([1, 2, 2, 1])) as tf.Tensor).shape)).to.deep.equal([1, 2, 2, 2]);
    linear.dispose();
  });
});
