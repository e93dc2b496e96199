// Seeded init is bit-exact, builders are pure, and the logits sub-model shares (and reference-counts) the weights.
import * as tf from '@tensorflow/tfjs';
import { expect } from 'chai';
import { BODY_NAMES, type HeadName } from '../../src/config/schema.js';
import { buildModel, logitsModel } from '../../src/models/registry.js';
import { tinyModelConfig } from '../../src/models/testing.js';
import { batch, layerValues, modelValues, useCpu } from './helpers.js';

const SPEC = { inputShape: [16, 16, 3] as [number, number, number], numClasses: 5 };

describe('models: seeds, purity, logits sub-model', () => {
  before(useCpu);

  for (const body of BODY_NAMES) {
    it(`${body}: same seed -> identical weights, other seed -> different kernels`, () => {
      const cfg = tinyModelConfig(body, 'gap');
      const [a, b, c] = [buildModel(cfg, SPEC, 7), buildModel(cfg, SPEC, 7), buildModel(cfg, SPEC, 8)];
      const [va, vb, vc] = [a, b, c].map((m) => modelValues(m.model));
      expect([...va.keys()]).to.deep.equal([...vb.keys()]);
      for (const [name, ws] of va) {
        ws.forEach((w, i) => expect(Buffer.from(w.buffer).equals(Buffer.from(vb.get(name)![i].buffer)), name).to.equal(true));
      }
      // Kernels (the first weight of every conv/dense layer) differ under another seed.
      for (const l of a.model.layers.filter((l) => ['Conv2D', 'Dense'].includes(l.getClassName()))) {
        expect(Array.from(va.get(l.name)![0])).to.not.deep.equal(Array.from(vc.get(l.name)![0]), l.name);
      }
      // Biases start at zero.
      for (const l of a.model.layers.filter((l) => l.getClassName() === 'Conv2D' && l.weights.length === 2)) {
        expect(va.get(l.name)![1].every((v) => v === 0)).to.equal(true);
      }
      [a, b, c].forEach((m) => m.model.dispose());
    });
  }

  it('the body is identical across heads under the same seed (a fair head comparison)', () => {
    const heads: HeadName[] = ['gap', 'gap-dense', 'fc', 'fc-dropout'];
    const built = heads.map((h) => buildModel(tinyModelConfig('nin', h), SPEC, 3));
    const ref = modelValues(built[0].model);
    for (const b of built.slice(1)) {
      const v = modelValues(b.model);
      for (const [name, ws] of ref) {
        if (!(name.startsWith('body_') || name === 'features')) continue;
        ws.forEach((w, i) => expect(Array.from(v.get(name)![i])).to.deep.equal(Array.from(w)));
      }
    }
    built.forEach((b) => b.model.dispose());
  });

  it('builds are pure: two calls give independent models', () => {
    const start = tf.memory().numTensors;
    const cfg = tinyModelConfig('cnn', 'fc');
    const a = buildModel(cfg, SPEC, 1);
    const b = buildModel(cfg, SPEC, 1);
    expect(a.model).to.not.equal(b.model);
    expect(a.model.getLayer('logits')).to.not.equal(b.model.getLayer('logits'));
    const before = layerValues(b.model, 'logits')[0].slice();
    // Changing a's weights leaves b untouched.
    const layer = a.model.getLayer('logits');
    const ones = layer.getWeights().map((w) => tf.onesLike(w));
    layer.setWeights(ones); // copies the values into the variables
    tf.dispose(ones);
    expect(Array.from(layerValues(b.model, 'logits')[0])).to.deep.equal(Array.from(before));
    expect(layerValues(a.model, 'logits')[0].every((v) => v === 1)).to.equal(true);
    // The config object is not mutated by building.
    expect(cfg).to.deep.equal(tinyModelConfig('cnn', 'fc'));
    a.model.dispose();
    b.model.dispose();
    expect(tf.memory().numTensors).to.equal(start);
  });

  for (const body of BODY_NAMES) {
    it(`${body}: logitsModel shares weights; softmax(logits) = probs; refcounted dispose frees everything`, () => {
      const start = tf.memory().numTensors;
      const built = buildModel(tinyModelConfig(body, 'gap-dense'), SPEC, 1);
      const sub = logitsModel(built);
      expect(sub.outputs[0].shape).to.deep.equal([null, 5]);
      expect(sub.trainableWeights.length).to.equal(built.model.trainableWeights.length);
      sub.trainableWeights.forEach((w, i) => expect(w).to.equal(built.model.trainableWeights[i]));
      const check = () =>
        tf.tidy(() => {
          const x = batch(2, 16, 16, 3);
          const p = built.model.predict(x) as tf.Tensor;
          const l = sub.predict(x) as tf.Tensor;
          return tf.max(tf.abs(tf.sub(tf.softmax(l), p))).dataSync()[0];
        });
      expect(check()).to.be.below(1e-6);
      // A change through the sub-model shows in the full model.
      const dense = sub.getLayer('logits');
      const tripled = dense.getWeights().map((w) => tf.mul(w, 3));
      dense.setWeights(tripled);
      tf.dispose(tripled);
      expect(check()).to.be.below(1e-6);
      // Disposing the sub-model keeps the full model usable; disposing both frees every weight.
      sub.dispose();
      expect(check()).to.be.below(1e-6);
      built.model.dispose();
      expect(tf.memory().numTensors).to.equal(start);
    });
  }

  it('disposing the full model first keeps the logits model alive until it is disposed', () => {
    const start = tf.memory().numTensors;
    const built = buildModel(tinyModelConfig('nin', 'gap'), SPEC, 1);
    const sub = logitsModel(built);
    built.model.dispose();
    const shape = tf.tidy(() => (sub.predict(batch(1, 16, 16, 3)) as tf.Tensor).shape);
    expect(shape).to.deep.equal([1, 5]);
    sub.dispose();
    expect(tf.memory().numTensors).to.equal(start);
  });
});
