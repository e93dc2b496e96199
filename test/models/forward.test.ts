// Every body x head builds, runs forward with the right shapes, sums to 1, names its layers and leaks nothing.
import * as tf from '@tensorflow/tfjs';
import { expect } from 'chai';
import { BODY_NAMES, HEAD_NAMES, type BodyName, type HeadName } from '../../src/config/schema.js';
import { BODIES, HEADS, buildModel } from '../../src/models/registry.js';
import { tinyModelConfig } from '../../src/models/testing.js';
import { batch, useCpu } from './helpers.js';

/**
 * [body, head] trainable parameters of tinyModelConfig on [32,32,3] with 10 classes, from the layer shapes.
 * NIN at width 1/24, channels 8-7-4 / 8-8-8 / 8-8: 5*5*3*8+8 + 8*7+7 + 7*4+4 = 703; 5*5*4*8+8 + 2*(8*8+8) = 952;
 *   3*3*8*8+8 + 8*8+8 = 656; body 2,311; features 8x8x8 (32 -> 16 -> 8).
 * CNN 4,4 / 8,8 filters: 3*3*3*4+4 + 3*3*4*4+4 + 3*3*4*8+8 + 3*3*8*8+8 = 1,140; features 6x6x8 (32 -> 30 -> 15 -> 13 -> 6).
 * ResNet-8 of width 4, no conv biases, batch norm gamma+beta: stem 3*3*3*4 + 2*4 = 116; stage 1 2*(3*3*4*4 + 2*4) = 304;
 *   stage 2 3*3*4*8 + 3*3*8*8 + 2*2*8 + projection 4*8 + 2*8 = 944; stage 3 3*3*8*16 + 3*3*16*16 + 2*2*16 + 8*16 + 2*16
 *   = 3,680; body 5,044; features 8x8x16.
 * Heads on k channels of h x w: gap and gap-dense k*10+10; fc and fc-dropout flatten h*w*k -> (CNN: dense 8) -> 10.
 */
const TINY_PARAMS: Record<BodyName, Record<HeadName, [number, number]>> = {
  nin: { gap: [2311, 90], 'gap-dense': [2311, 90], fc: [2311, 5130], 'fc-dropout': [2311, 5130] },
  cnn: { gap: [1140, 90], 'gap-dense': [1140, 90], fc: [1140, 288 * 8 + 8 + 90], 'fc-dropout': [1140, 288 * 8 + 8 + 90] },
  resnet: { gap: [5044, 170], 'gap-dense': [5044, 170], fc: [5044, 10250], 'fc-dropout': [5044, 10250] },
};

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
        const [bodyParams, headParams] = TINY_PARAMS[body][head];
        expect(built.params).to.deep.equal({ total: bodyParams + headParams, body: bodyParams, head: headParams });
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
