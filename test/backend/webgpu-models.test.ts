// NIN, the Keras CNN and ResNet-20, built from the registry: loss, every gradient and inference logits on webgpu = cpu.
import * as tf from '@tensorflow/tfjs';

import type { BodyName, HeadName, ModelConfig } from '../../src/config/schema.js';
import { buildModel, logitsModel } from '../../src/models/registry.js';
import { tinyModelConfig } from '../../src/models/testing.js';
import { crossEntropy, dropoutLayers, seedDropout, trainableVariables } from '../../src/train/step.js';
import { randomTensor } from './helpers.js';
import { expectSameOnWebgpu, MODEL_TOL, needsWebgpu } from './webgpu-helpers.js';

const SHAPE: [number, number, number] = [12, 12, 3]; // the smallest the CNN's valid convs and two poolings allow
const CLASSES = 5;

/**
 * Builds the model afresh on the current backend (same seed, same weights on both), then returns the loss and the
 * gradient of every trainable weight in training mode (seeded dropout, batch statistics) and the logits in inference
 * mode (moving statistics), all from one batch of 4.
 */
function lossGradsLogits(model: ModelConfig): tf.Tensor[] {
  const built = buildModel(model, { inputShape: SHAPE, numClasses: CLASSES }, 3);
  const net = logitsModel(built);
  try {
    const x = randomTensor([4, ...SHAPE], 90) as tf.Tensor4D;
    const y = tf.tensor1d([0, 3, 1, 4], 'int32');
    const logits = net.apply(x, { training: false }) as tf.Tensor;
    seedDropout(dropoutLayers(net), 1, 0, 0);
    const { value, grads } = tf.variableGrads(() => crossEntropy(net.apply(x, { training: true }) as tf.Tensor2D, y), trainableVariables(net));
    return [value, ...Object.values(grads), logits];
  } finally {
    net.dispose();
    built.model.dispose();
  }
}

const CASES: Array<{ body: BodyName; head: HeadName; title: string; edit?: (m: ModelConfig) => void }> = [
  { body: 'nin', head: 'gap', title: 'NIN (max pooling, dropout) + GAP' },
  { body: 'nin', head: 'fc-dropout', title: 'NIN (average pooling) + FC-dropout', edit: (m) => void (m.nin.pool = 'avg') },
  { body: 'cnn', head: 'fc-dropout', title: 'Keras CNN + FC-dropout with a hidden layer' },
  { body: 'resnet', head: 'gap-dense', title: 'ResNet-20 (batch norm, residual adds, strided 1x1 projections) + GAP-dense',
    edit: (m) => void (m.resnet.depth = 20) },
];

describe('webgpu backend: whole models against cpu', function () {
  before(async function () {
    await needsWebgpu(this);
  });
  after(() => tf.setBackend('cpu'));

  for (const c of CASES) {
    it(`${c.title}: loss, all gradients, inference logits within ${MODEL_TOL} relative`, async () => {
      const model = tinyModelConfig(c.body, c.head);
      c.edit?.(model);
      await expectSameOnWebgpu(() => lossGradsLogits(model), MODEL_TOL);
    });
  }
});
