// Every body x head builds, runs forward with the right shapes, sums to 1, names its layers and leaks nothing.
import * as tf from '@tensorflow/tfjs';
import { expect } from 'chai';
import { BODY_NAMES, HEAD_NAMES } from '../../src/config/schema.js';
import { BODIES, HEADS, buildModel } from '../../src/models/registry.js';
import { tinyModelConfig } from '../../src/models/testing.js';
import { batch, useCpu } from './helpers.js';

describe('models: every body x head', () => {
  before(useCpu);

  it('registers exactly the schema names', () => {
    expect(Object.keys(BODIES).sort()).to.deep.equal([...BODY_NAMES].sort());
    expect(Object.keys(HEADS).sort()).to.deep.equal([...HEAD_NAMES].sort());
  });

  for (const body of BODY_NAMES) {
    for (const head of HEAD_NAMES) {
      it(`${body} + ${head}: forward [2,32,32,3] -> [2,10] probabilities, named layers, no leak`, () => {
        const before = tf.memory().numTensors;
        const built = buildModel(tinyModelConfig(body, head), { inputShape: [32, 32, 3], numClasses: 10 }, 1);
        const { model } = built;
        const probs = tf.tidy(() => {
          const x = batch(2, 32, 32, 3);
          const inference = model.predict(x) as tf.Tensor;
          // Training mode runs dropout too; it must still give probabilities.
          const training = model.apply(x, { training: true }) as tf.Tensor;
          return [inference.arraySync() as number[][], training.arraySync() as number[][]];
        });
        for (const rows of probs) {
          expect(rows).to.have.length(2);
          for (const row of rows) {
            expect(row).to.have.length(10);
            expect(row.every((p) => Number.isFinite(p) && p >= 0 && p <= 1)).to.equal(true);
            expect(row.reduce((a, b) => a + b, 0)).to.be.closeTo(1, 1e-5);
          }
        }
        for (const name of ['input', 'features', 'logits', 'probs']) expect(() => model.getLayer(name)).to.not.throw();
        expect(built.model.getLayer('probs').outputShape).to.deep.equal([null, 10]);
        expect(built.model.getLayer('logits').outputShape).to.deep.equal([null, 10]);
        expect(built.logitsLayer).to.equal('logits');
        expect(built.featureLayer).to.equal('features');
        expect(built.params.total).to.equal(built.params.body + built.params.head);
        expect(built.params.body).to.be.greaterThan(0);
        expect(built.params.head).to.be.greaterThan(0);
        // Every named layer is owned: body_*, head_*, or one of the fixed names.
        const fixed = ['input', 'features', 'class_maps', 'classifier', 'logits', 'probs'];
        for (const l of model.layers) expect(l.name.startsWith('body_') || l.name.startsWith('head_') || fixed.includes(l.name), l.name).to.equal(true);
        // Dropout layers are found by name by the training loop.
        for (const l of model.layers) if (l.getClassName() === 'Dropout') expect(l.name).to.contain('dropout');
        if (head === 'gap') {
          expect(built.classMapLayer).to.equal('class_maps');
          expect(model.getLayer('class_maps').outputShape).to.have.length(4);
          expect((model.getLayer('class_maps').outputShape as number[])[3]).to.equal(10);
        } else {
          expect(built.classMapLayer).to.equal(undefined);
        }
        expect(built.classifierLayer).to.equal(head === 'gap-dense' ? 'logits' : undefined);
        model.dispose();
        expect(tf.memory().numTensors).to.equal(before);
      });
    }
  }

  for (const body of BODY_NAMES) {
    it(`${body}: MNIST-sized [28,28,1] and odd [13,17,3] inputs`, function () {
      for (const [inputShape, C] of [
        [[28, 28, 1], 10],
        [[13, 17, 3], 3],
      ] as const) {
        for (const head of HEAD_NAMES) {
          const cfg = tinyModelConfig(body, head);
          if (body === 'cnn') cfg.cnn.stages = [{ filters: 4, convs: 2 }]; // 13 -> 13 -> 11 -> 5
          const [h, w, c] = inputShape;
          const built = buildModel(cfg, { inputShape: [h, w, c], numClasses: C }, 2);
          const out = tf.tidy(() => (built.model.predict(batch(2, h, w, c)) as tf.Tensor).shape);
          expect(out).to.deep.equal([2, C]);
          built.model.dispose();
        }
      }
    });
  }
});
