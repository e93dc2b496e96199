// Built models save and reload with standard tfjs layers only, and gradients reach every trainable weight.
import * as tf from '@tensorflow/tfjs';
import { expect } from 'chai';
import { BODY_NAMES } from '../../src/config/schema.js';
import { buildModel, logitsModel } from '../../src/models/registry.js';
import { tinyModelConfig } from '../../src/models/testing.js';
import { batch, useCpu } from './helpers.js';

const SPEC = { inputShape: [12, 12, 3] as [number, number, number], numClasses: 4 };

describe('models: save/load and gradients', () => {
  before(useCpu);

  for (const body of BODY_NAMES) {
    it(`${body}: saves to memory and reloads with tf.loadLayersModel, same predictions and layer names`, async () => {
      const start = tf.memory().numTensors;
      // Build twice first, so variable names in this process are de-duplicated ('..._1'); saving must not care.
      buildModel(tinyModelConfig(body, 'gap'), SPEC, 5).model.dispose();
      const built = buildModel(tinyModelConfig(body, 'gap'), SPEC, 5);
      let artifacts: tf.io.ModelArtifacts | undefined;
      await built.model.save(
        tf.io.withSaveHandler(async (a) => {
          artifacts = a;
          return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
        }),
      );
      const loaded = await tf.loadLayersModel(tf.io.fromMemory(artifacts!));
      expect(loaded.layers.map((l) => l.name)).to.deep.equal(built.model.layers.map((l) => l.name));
      const diff = tf.tidy(() => {
        const x = batch(3, 12, 12, 3);
        return tf.max(tf.abs(tf.sub(built.model.predict(x) as tf.Tensor, loaded.predict(x) as tf.Tensor))).dataSync()[0];
      });
      expect(diff).to.equal(0);
      loaded.dispose();
      built.model.dispose();
      expect(tf.memory().numTensors).to.equal(start);
    });

    it(`${body}: every trainable weight gets a non-zero gradient through the logits model`, () => {
      const start = tf.memory().numTensors;
      for (const head of ['gap', 'fc-dropout'] as const) {
        const built = buildModel(tinyModelConfig(body, head), SPEC, 9);
        const sub = logitsModel(built);
        const norms = tf.tidy(() => {
          const x = batch(4, 12, 12, 3);
          const y = tf.oneHot(tf.tensor1d([0, 1, 2, 3], 'int32'), 4);
          const { grads } = tf.variableGrads(
            () => tf.losses.softmaxCrossEntropy(y, sub.apply(x, { training: true }) as tf.Tensor) as tf.Scalar,
            // LayerVariable.read() hands back the underlying tf.Variable (typed as Tensor).
            sub.trainableWeights.map((w) => w.read() as tf.Variable),
          );
          return Object.entries(grads).map(([name, g]) => [name, tf.sum(tf.abs(g)).dataSync()[0]] as const);
        });
        expect(norms).to.have.length(built.model.trainableWeights.length);
        for (const [name, n] of norms) expect(n, `${head}: ${name}`).to.be.greaterThan(0);
        sub.dispose();
        built.model.dispose();
      }
      expect(tf.memory().numTensors).to.equal(start);
    });
  }
});
