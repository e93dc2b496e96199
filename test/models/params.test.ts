// Exact parameter counts against the papers and Keras, derived by hand in the comments, and the architecture rules.
import * as tf from '@tensorflow/tfjs';
import { expect } from 'chai';
import { defaultConfig, type BodyName, type HeadName, type ModelConfig } from '../../src/config/schema.js';
import { UserError } from '../../src/errors.js';
import { buildModel, type BuiltModel } from '../../src/models/registry.js';
import { tinyModelConfig } from '../../src/models/testing.js';
import { decayedWeights } from '../../src/models/weights.js';
import { useCpu } from './helpers.js';

const CIFAR10 = { inputShape: [32, 32, 3] as [number, number, number], numClasses: 10 };

function config(body: BodyName, head: HeadName, edit: (c: ModelConfig) => void = () => {}): ModelConfig {
  const cfg = defaultConfig().model;
  cfg.body = body;
  cfg.head = head;
  edit(cfg);
  return cfg;
}

/** Builds, hands the model to `check`, disposes. */
function withModel(cfg: ModelConfig, spec: typeof CIFAR10, check: (b: BuiltModel) => void): void {
  const built = buildModel(cfg, spec, 1);
  try {
    check(built);
  } finally {
    built.model.dispose();
  }
}

const filtersOf = (b: BuiltModel) =>
  b.model.layers.filter((l) => l.getClassName() === 'Conv2D').map((l) => (l.outputShape as number[])[3]);

describe('models: parameter counts', () => {
  before(useCpu);

  it('NIN + gap on CIFAR-10: 966,986 (the paper), body 965,056, head 1,930', () => {
    // block 1: 5*5*3*192+192 = 14,592; 192*160+160 = 30,880; 160*96+96 = 15,456
    // block 2: 5*5*96*192+192 = 460,992; 2 x (192*192+192) = 74,112
    // block 3: 3*3*192*192+192 = 331,968; 192*192+192 = 37,056; head 1x1 192*10+10 = 1,930
    withModel(config('nin', 'gap'), CIFAR10, (b) => {
      expect(b.params).to.deep.equal({ total: 966_986, body: 965_056, head: 1_930 });
      expect(b.model.countParams()).to.equal(966_986);
      expect(b.model.getLayer('features').outputShape).to.deep.equal([null, 8, 8, 192]);
      expect(b.model.getLayer('class_maps').outputShape).to.deep.equal([null, 8, 8, 10]);
    });
  });

  it('NIN + fc-dropout (section 4.6): same body, head flatten 8*8*192 -> dropout -> dense 10 = 122,890', () => {
    withModel(config('nin', 'fc-dropout'), CIFAR10, (b) => {
      expect(b.params).to.deep.equal({ total: 1_087_946, body: 965_056, head: 122_890 });
      const names = b.model.layers.map((l) => l.name);
      expect(names.slice(names.indexOf('features'))).to.deep.equal(['features', 'head_flatten', 'head_dropout0', 'logits', 'probs']);
    });
  });

  it("Keras cifar10_cnn + fc-dropout [512]: 1,250,858, of which the head is 1,185,290", () => {
    // convs: 3*3*3*32+32 = 896; 3*3*32*32+32 = 9,248; 3*3*32*64+64 = 18,496; 3*3*64*64+64 = 36,928 -> 65,568
    // 32 -same-> 32 -valid-> 30 -pool-> 15 -same-> 15 -valid-> 13 -pool-> 6; dense 6*6*64*512+512 = 1,180,160; 512*10+10
    const cfg = config('cnn', 'fc-dropout', (c) => {
      c.fc.hidden = [512];
      c.fc.dropout = 0.5;
    });
    withModel(cfg, CIFAR10, (b) => {
      expect(b.params).to.deep.equal({ total: 1_250_858, body: 65_568, head: 1_185_290 });
      expect(b.model.getLayer('features').outputShape).to.deep.equal([null, 6, 6, 64]);
      // Keras's order: dropout after the hidden layer only, not after flatten.
      const names = b.model.layers.map((l) => l.name);
      expect(names.slice(names.indexOf('features'))).to.deep.equal([
        'features', 'head_flatten', 'head_dense1', 'head_dropout1', 'logits', 'probs',
      ]);
      const rates = b.model.layers.filter((l) => l.name.includes('dropout')).map((l) => l.getConfig().rate);
      expect(rates).to.deep.equal([0.25, 0.25, 0.5]);
    });
  });

  it('ResNet-20 + gap-dense: 272,474 trainable (option B), 274,042 with batch-norm moving statistics', () => {
    // Option A (zero-pad shortcuts) would be 269,722: conv 3*3*3*16 = 432; stage 1: 6 * 3*3*16*16 = 13,824;
    // stage 2: 3*3*16*32 + 5 * 3*3*32*32 = 50,688; stage 3: 3*3*32*64 + 5 * 3*3*64*64 = 202,752;
    // batch-norm gamma+beta 2*(16 + 6*16 + 6*32 + 6*64) = 1,376; dense 64*10+10 = 650.
    // Option B adds the two projections: 16*32 + 2*32 = 576 and 32*64 + 2*64 = 2,176 -> 272,474.
    // Moving mean+variance add 2*(16+96+192+384+32+64) = 1,568 non-trainable -> countParams() 274,042.
    withModel(config('resnet', 'gap-dense'), CIFAR10, (b) => {
      expect(b.params).to.deep.equal({ total: 272_474, body: 271_824, head: 650 });
      expect(b.model.countParams()).to.equal(274_042);
      expect(b.model.getLayer('features').outputShape).to.deep.equal([null, 8, 8, 64]);
      const convs = b.model.layers.filter((l) => l.getClassName() === 'Conv2D');
      expect(convs).to.have.length(19 + 2); // 19 weighted conv layers of ResNet-20 plus 2 projections
      expect(b.model.layers.filter((l) => l.getClassName() === 'Add')).to.have.length(9);
    });
  });

  it('NIN width multiplier scales every channel count (rounded, min 1) but keeps C class maps', () => {
    withModel(config('nin', 'gap', (c) => (c.nin.width = 0.25)), CIFAR10, (b) => {
      expect(filtersOf(b)).to.deep.equal([48, 40, 24, 48, 48, 48, 48, 48, 10]);
    });
    withModel(config('nin', 'gap', (c) => (c.nin.width = 0.001)), CIFAR10, (b) => {
      expect(filtersOf(b)).to.deep.equal([1, 1, 1, 1, 1, 1, 1, 1, 10]);
    });
  });

  it('NIN blocks drops later blocks; the last block present has no pooling or dropout after it', () => {
    withModel(config('nin', 'gap', (c) => ((c.nin.blocks = 1), (c.nin.width = 0.25))), CIFAR10, (b) => {
      expect(b.model.layers.map((l) => l.name)).to.deep.equal([
        'input', 'body_b1_conv1', 'body_b1_conv2', 'features', 'class_maps', 'logits', 'probs',
      ]);
      expect(b.model.getLayer('features').outputShape).to.deep.equal([null, 32, 32, 24]);
    });
    withModel(config('nin', 'fc', (c) => ((c.nin.blocks = 2), (c.nin.pool = 'avg'))), CIFAR10, (b) => {
      expect(b.model.getLayer('body_b1_pool').getClassName()).to.equal('AveragePooling2D');
      expect(b.model.getLayer('features').outputShape).to.deep.equal([null, 16, 16, 192]);
      expect(() => b.model.getLayer('body_b2_pool')).to.throw();
    });
  });

  it('gap head activation and dropout 0 follow the config', () => {
    withModel(config('nin', 'gap', (c) => ((c.gap.activation = 'linear'), (c.nin.dropout = 0), (c.nin.width = 0.1))), CIFAR10, (b) => {
      expect(b.model.getLayer('class_maps').getConfig().activation).to.equal('linear');
      expect(b.model.layers.some((l) => l.name.includes('dropout'))).to.equal(false);
    });
  });

  it('weight decay targets conv and dense kernels only', () => {
    withModel(tinyModelConfig('resnet', 'gap-dense'), CIFAR10, (b) => {
      const names = decayedWeights(b.model).map((w) => w.originalName);
      expect(names).to.have.length(1 + 6 + 2 + 1); // stem, 3 stages x 1 block x 2 convs, 2 projections, dense
      expect(names.every((n) => n.endsWith('/kernel'))).to.equal(true);
      expect(names).to.include('logits/kernel');
    });
  });

  it('a CNN input too small for its stages is a UserError naming model.cnn.stages', () => {
    const before = tf.memory().numTensors;
    expect(() => buildModel(config('cnn', 'gap'), { inputShape: [8, 8, 1], numClasses: 10 }, 1))
      .to.throw(UserError, /model\.cnn\.stages: a 8x8 input is too small for stage 2/);
    expect(() => buildModel(config('nin', 'gap'), { inputShape: [0, 8, 1], numClasses: 10 }, 1)).to.throw(UserError, /input shape/);
    expect(() => buildModel(config('nin', 'gap'), { inputShape: [8, 8, 1], numClasses: 1 }, 1)).to.throw(UserError, /2 classes/);
    expect(tf.memory().numTensors).to.equal(before);
  });
});
