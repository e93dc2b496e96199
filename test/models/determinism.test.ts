// Seeded init is bit-exact, builders are pure, and the logits sub-model shares (and reference-counts) the weights.
import * as tf from '@tensorflow/tfjs';
import { expect } from 'chai';
import { BODY_NAMES, type HeadName } from '../../src/config/schema.js';
import { layerOwner } from '../../src/models/params.js';
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
      // Biases start at zero, but the gap head's class maps at model.gap.bias (1: docs/gap-relu.md).
      for (const l of a.model.layers.filter((l) => l.getClassName() === 'Conv2D' && l.weights.length === 2)) {
        const start = l.name === 'class_maps' ? 1 : 0;
        expect(va.get(l.name)![1].every((v) => v === start), l.name).to.equal(true);
      }
      [a, b, c].forEach((m) => m.model.dispose());
    });
  }

  /** The body: every layer from the input through 'features', in the model's topological order (the head follows). */
  function bodyLayers(m: tf.LayersModel): tf.layers.Layer[] {
    const end = m.layers.findIndex((l) => l.name === 'features');
    expect(end, 'features layer').to.be.above(0);
    // Nothing after 'features' is body, nothing before it head: the split by position agrees with the names.
    m.layers.slice(end + 1).forEach((l) => expect(layerOwner(l.name), l.name).to.not.equal('body'));
    m.layers.slice(0, end + 1).forEach((l) => expect(layerOwner(l.name), l.name).to.not.equal('head'));
    return m.layers.slice(0, end + 1);
  }

  /** Body weights at step 0 (trainable and not, e.g. batch-norm statistics) by layer name, as raw bytes. */
  function bodyBytes(m: tf.LayersModel): Map<string, Buffer[]> {
    return new Map(bodyLayers(m).map((l) => [l.name, l.getWeights().map((w) => Buffer.from(w.dataSync().buffer))]));
  }

  for (const body of BODY_NAMES) {
    it(`${body}: same seed -> bit-identical body under every head; another seed -> another body`, () => {
      const start = tf.memory().numTensors;
      const heads: HeadName[] = ['gap', 'gap-dense', 'fc', 'fc-dropout'];
      const built = heads.map((h) => buildModel(tinyModelConfig(body, h), SPEC, 3));
      const ref = bodyBytes(built[0].model);
      // The layers compared hold exactly the body's trainable parameters (none skipped), and there are some.
      const size = (w: tf.LayerVariable) => w.shape.reduce<number>((a, d) => a * (d ?? 0), 1);
      const trainable = bodyLayers(built[0].model).reduce((n, l) => n + l.trainableWeights.reduce((m, w) => m + size(w), 0), 0);
      expect(trainable).to.equal(built[0].params.body).and.above(0);
      for (const [i, b] of built.entries()) {
        const v = bodyBytes(b.model);
        expect([...v.keys()], heads[i]).to.deep.equal([...ref.keys()]);
        for (const [name, ws] of ref) {
          expect(v.get(name)!.length, `${heads[i]} ${name}`).to.equal(ws.length);
          ws.forEach((w, k) => expect(v.get(name)![k].equals(w), `${heads[i]} ${name} weight ${k}`).to.equal(true));
        }
      }
      // Seed 4: every body kernel (the first weight of each conv or dense layer) differs.
      const other = buildModel(tinyModelConfig(body, 'fc-dropout'), SPEC, 4);
      const o = bodyBytes(other.model);
      const kernels = bodyLayers(other.model).filter((l) => ['Conv2D', 'Dense'].includes(l.getClassName()));
      expect(kernels.length).to.be.above(0);
      for (const l of kernels) expect(o.get(l.name)![0].equals(ref.get(l.name)![0]), l.name).to.equal(false);
      [...built, other].forEach((b) => b.model.dispose());
      expect(tf.memory().numTensors).to.equal(start);
    });
  }

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
