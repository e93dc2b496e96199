// A small seeded convnet trained 3 steps on cpu and on native: same losses, no tensor or buffer growth.
import * as tf from '@tensorflow/tfjs';
import { expect } from 'chai';

import { loadAddon } from '../../src/backend/native/addon.js';
import type { NativeBackend } from '../../src/backend/native/backend.js';
import { nativeCount, nativeReady, randomArray } from './helpers.js';
import { needsNative } from '../requires.js';

type Head = 'gap' | 'fc-dropout' | 'residual-bn';

/** A ResNet basic block in miniature: conv-BN-ReLU-conv-BN, residual add, ReLU, GAP, dense. */
function buildResidual(): tf.LayersModel {
  let seed = 200;
  const conv = (filters: number) =>
    tf.layers.conv2d({ filters, kernelSize: 3, padding: 'same', useBias: false, kernelInitializer: tf.initializers.heNormal({ seed: seed++ }) });
  const input = tf.input({ shape: [12, 12, 3] });
  const stem = tf.layers.reLU().apply(tf.layers.batchNormalization().apply(conv(6).apply(input))) as tf.SymbolicTensor;
  let h = tf.layers.reLU().apply(tf.layers.batchNormalization().apply(conv(6).apply(stem))) as tf.SymbolicTensor;
  h = tf.layers.batchNormalization().apply(conv(6).apply(h)) as tf.SymbolicTensor;
  h = tf.layers.reLU().apply(tf.layers.add().apply([h, stem])) as tf.SymbolicTensor;
  h = tf.layers.globalAveragePooling2d({}).apply(h) as tf.SymbolicTensor;
  h = tf.layers.dense({ units: 5, kernelInitializer: tf.initializers.glorotUniform({ seed: seed++ }) }).apply(h) as tf.SymbolicTensor;
  return tf.model({ inputs: input, outputs: h });
}

/** NIN in miniature: mlpconv blocks with max and average pooling, dropout, then a GAP or FC + dropout head. */
function buildModel(head: Head): tf.LayersModel {
  if (head === 'residual-bn') return buildResidual();
  let seed = 100;
  const init = () => tf.initializers.glorotUniform({ seed: seed++ });
  const conv = (filters: number, kernelSize: number, activation: 'relu' | 'linear' = 'relu') =>
    tf.layers.conv2d({ filters, kernelSize, padding: 'same', activation, kernelInitializer: init(), biasInitializer: tf.initializers.constant({ value: 0.01 }) });
  const input = tf.input({ shape: [12, 12, 3] });
  let h = conv(8, 5).apply(input) as tf.SymbolicTensor;
  h = conv(6, 1).apply(h) as tf.SymbolicTensor;
  h = tf.layers.maxPooling2d({ poolSize: 3, strides: 2, padding: 'same' }).apply(h) as tf.SymbolicTensor;
  h = tf.layers.dropout({ rate: 0.5, seed: 7 }).apply(h) as tf.SymbolicTensor;
  h = conv(8, 3).apply(h) as tf.SymbolicTensor;
  h = tf.layers.averagePooling2d({ poolSize: 3, strides: 2, padding: 'same' }).apply(h) as tf.SymbolicTensor;
  if (head === 'gap') {
    h = conv(5, 1).apply(h) as tf.SymbolicTensor;
    h = tf.layers.globalAveragePooling2d({}).apply(h) as tf.SymbolicTensor;
  } else {
    h = tf.layers.flatten().apply(h) as tf.SymbolicTensor;
    h = tf.layers.dropout({ rate: 0.5, seed: 8 }).apply(h) as tf.SymbolicTensor;
    h = tf.layers.dense({ units: 5, kernelInitializer: init() }).apply(h) as tf.SymbolicTensor;
  }
  return tf.model({ inputs: input, outputs: h });
}

interface Run {
  losses: number[];
  tensorsAfterStep: number[];
  pooledBuffersAfterStep: number[];
  /** oneDNN primitives cached by the addon (native memory that must not grow per step). */
  convPlansAfterStep: number[];
}

function train(backend: string, head: Head, steps: number): Run {
  tf.setBackend(backend);
  const model = buildModel(head);
  const opt = tf.train.momentum(0.05, 0.9);
  const x = tf.tensor4d(randomArray(4 * 12 * 12 * 3, 1), [4, 12, 12, 3]);
  const y = tf.tidy(() => tf.oneHot(tf.tensor1d([0, 3, 1, 4], 'int32'), 5));
  const run: Run = { losses: [], tensorsAfterStep: [], pooledBuffersAfterStep: [], convPlansAfterStep: [] };
  for (let i = 0; i < steps; i++) {
    const loss = tf.tidy(() => {
      const { value, grads } = tf.variableGrads(
        () => tf.losses.softmaxCrossEntropy(y, model.apply(x, { training: true }) as tf.Tensor) as tf.Scalar);
      opt.applyGradients(Object.entries(grads).map(([name, tensor]) => ({ name, tensor })));
      return value;
    });
    run.losses.push(loss.dataSync()[0]!);
    loss.dispose();
    run.tensorsAfterStep.push(tf.memory().numTensors);
    const b = tf.backend();
    // Output memory held by the backend: pooled buffers (older addons) or live heap blocks.
    run.pooledBuffersAfterStep.push('pooled' in b ? (b as NativeBackend).pooled().buffers + (loadAddon()?.heapStats?.().blocks ?? 0) : 0);
    run.convPlansAfterStep.push(loadAddon()?.convCacheSize() ?? 0);
  }
  tf.dispose([x, y]);
  opt.dispose();
  model.dispose();
  return run;
}

describe('native backend: training matches cpu', function () {
  before(function () {
    needsNative(this, nativeReady());
  });
  after(() => tf.setBackend('cpu'));

  for (const head of ['gap', 'fc-dropout', 'residual-bn'] as const) {
    it(`${head} head: 3 SGD-momentum steps give the same losses (1e-4 relative), stable tensors and buffers`, () => {
      const start = tf.memory().numTensors;
      const cpu = train('cpu', head, 3);
      const native = train('native', head, 4);
      native.losses.slice(0, 3).forEach((l, i) => {
        expect(Math.abs(l - cpu.losses[i]!) / Math.abs(cpu.losses[i]!), `step ${i} loss ${l} vs ${cpu.losses[i]}`).to.be.at.most(1e-4);
      });
      expect(cpu.losses[2]).to.be.lessThan(cpu.losses[0]!);
      expect(native.tensorsAfterStep[3]).to.equal(native.tensorsAfterStep[1]);
      expect(native.pooledBuffersAfterStep[3]).to.equal(native.pooledBuffersAfterStep[2]);
      expect(native.convPlansAfterStep[3]).to.equal(native.convPlansAfterStep[1]);
      // tfjs 4.22's MomentumOptimizer.dispose() leaves its learning-rate scalar: one tensor per run, not ours.
      expect(tf.memory().numTensors).to.equal(start + 2);
      if (head === 'residual-bn') expect(nativeCount('GaplabBatchNormGrad')).to.be.greaterThan(0);
    });
  }
});
