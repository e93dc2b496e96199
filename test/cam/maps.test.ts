// CAM and Grad-CAM of hand-built models whose feature maps and weights are known, against hand-computed maps.
import { expect } from 'chai';
import * as tf from '@tensorflow/tfjs';
import { CamExtractor } from '../../src/cam/extractor.js';
import { classMapCam, denseCam, gradCam, upsampleMaps } from '../../src/cam/maps.js';
import { camStructure, headFunction } from '../../src/cam/structure.js';
import { HEAD_NAMES, BODY_NAMES } from '../../src/config/schema.js';
import { buildModel } from '../../src/models/registry.js';
import { tinyModelConfig } from '../../src/models/testing.js';
import { batch, useCpu } from '../models/helpers.js';

const apply = (l: tf.layers.Layer, x: tf.SymbolicTensor) => l.apply(x) as tf.SymbolicTensor;

/** input [h,w,k] -> 'features' (identity, so the feature maps are the input) -> head -> 'probs'. */
function handBuilt(h: number, w: number, k: number, head: (f: tf.SymbolicTensor) => tf.SymbolicTensor): tf.LayersModel {
  const input = tf.input({ shape: [h, w, k] });
  const features = apply(tf.layers.activation({ name: 'features', activation: 'linear' }), input);
  const probs = apply(tf.layers.activation({ name: 'probs', activation: 'softmax' }), head(features));
  return tf.model({ name: 'hand', inputs: input, outputs: probs });
}

function setWeights(model: tf.LayersModel, layer: string, values: tf.Tensor[]): void {
  model.getLayer(layer).setWeights(values);
  tf.dispose(values);
}

/** Features [2,2,2,2]: image 0 channel 0 = 1..4, channel 1 = 5..8; image 1 the negatives. */
const FEATURES = [1, 5, 2, 6, 3, 7, 4, 8].flatMap((v) => v);
const featureTensor = () => tf.tensor4d([...FEATURES, ...FEATURES.map((v) => -v)], [2, 2, 2, 2]);

describe('cam/maps', () => {
  let before = 0;
  beforeEach(async () => {
    await useCpu();
    before = tf.memory().numTensors;
  });
  afterEach(() => expect(tf.memory().numTensors).to.equal(before, 'tensors leaked'));

  it('class-map CAM (NIN gap head) is the class\'s own map', async () => {
    // class_maps = 1x1 conv, 3 classes: map_c = w0c * f0 + w1c * f1 + b_c.
    const model = handBuilt(2, 2, 2, (f) => {
      const maps = apply(tf.layers.conv2d({ name: 'class_maps', filters: 3, kernelSize: 1, activation: 'linear' }), f);
      return apply(tf.layers.globalAveragePooling2d({ name: 'logits' }), maps);
    });
    setWeights(model, 'class_maps', [tf.tensor4d([1, 0, 2, 0, 1, -1], [1, 1, 2, 3]), tf.tensor1d([0, 10, 0])]);
    expect(camStructure(model).cam).to.equal('class-maps');
    const ex = new CamExtractor(model);
    const x = featureTensor();
    // Image 0, class 1: f1 + 10; image 1 (features negated), class 2: 2*f0 - f1.
    const got = await ex.analyze(x, [Int32Array.from([1, 2])], 'cam');
    const f0 = [1, 2, 3, 4];
    const f1 = [5, 6, 7, 8];
    expect(Array.from(got.maps[1])).to.deep.equal([
      ...f1.map((v) => v + 10),
      ...f0.map((v, i) => 2 * -v - -f1[i]),
    ]);
    // Upsampling 2x2 -> 2x2 is the identity; the low-res function agrees with the extractor.
    const direct = tf.tidy(() => {
      const maps = tf.tensor4d([1, 2, 3, 4, 5, 6, 7, 8], [1, 2, 2, 2]);
      return classMapCam(maps, Int32Array.from([1]));
    });
    expect(Array.from(direct.dataSync())).to.deep.equal([2, 4, 6, 8]);
    direct.dispose();
    x.dispose();
    model.dispose();
  });

  it('dense-weights CAM (gap-dense head) is sum_k w_k^c f_k, without the bias', async () => {
    const model = handBuilt(2, 2, 2, (f) => {
      const pooled = apply(tf.layers.globalAveragePooling2d({ name: 'head_gap' }), f);
      return apply(tf.layers.dense({ name: 'logits', units: 2 }), pooled);
    });
    // kernel [k=2, C=2]: class 0 = 3*f0 - f1, class 1 = 0.5*f0 + 2*f1; bias must not appear in the map.
    setWeights(model, 'logits', [tf.tensor2d([3, 0.5, -1, 2], [2, 2]), tf.tensor1d([100, -100])]);
    expect(camStructure(model).cam).to.equal('dense-weights');
    const ex = new CamExtractor(model);
    const x = featureTensor();
    const got = await ex.analyze(x, [Int32Array.from([0, 1])], 'cam');
    const f0 = [1, 2, 3, 4];
    const f1 = [5, 6, 7, 8];
    expect(Array.from(got.maps[1])).to.deep.equal([
      ...f0.map((v, i) => 3 * v - f1[i]),
      ...f0.map((v, i) => 0.5 * -v + 2 * -f1[i]),
    ]);
    // Image 0's logits: class 0 = 3*2.5 - 6.5 + 100 = 101, class 1 = 1.25 + 13 - 100: predicted 0.
    expect(got.predicted[0]).to.equal(0);
    expect(Array.from(got.maps[0].subarray(0, 4))).to.deep.equal(f0.map((v, i) => 3 * v - f1[i]));
    // Grad-CAM of a GAP-dense head is ReLU(CAM) / (h*w): d logit_c / d f_k(x,y) = w_k^c / 4.
    const gc = await ex.analyze(x, [Int32Array.from([0, 1])], 'gradcam');
    const cam = got.maps[1];
    expect(Array.from(gc.maps[1])).to.deep.equal(Array.from(cam, (v) => Math.max(0, v) / 4));
    const k = tf.tensor2d([3, 0.5, -1, 2], [2, 2]);
    const direct = denseCam(x, k, Int32Array.from([1, 1]));
    expect(Array.from(direct.dataSync()).slice(0, 4)).to.deep.equal(f0.map((v, i) => 0.5 * v + 2 * f1[i]));
    tf.dispose([direct, k, x]);
    model.dispose();
  });

  it('Grad-CAM of a linear fc head equals the hand-computed map', async () => {
    // flatten [2*2*2] -> dense C=2 'logits'. Kernel row r = (y*2 + x)*2 + k.
    const model = handBuilt(2, 2, 2, (f) => {
      const flat = apply(tf.layers.flatten({ name: 'head_flatten' }), f);
      const drop = apply(tf.layers.dropout({ name: 'head_dropout0', rate: 0.5 }), flat); // inactive at inference
      return apply(tf.layers.dense({ name: 'logits', units: 2 }), drop);
    });
    const W = [
      [1, -2], [2, 0], // (0,0) k0, k1
      [3, 1], [-2, 0], // (0,1)
      [0, 4], [1, 1], // (1,0)
      [4, -1], [3, 0], // (1,1)
    ];
    setWeights(model, 'logits', [tf.tensor2d(W.flat(), [8, 2]), tf.tensor1d([0.5, 0.25])]);
    const s = camStructure(model);
    expect(s.cam).to.equal(undefined);
    const ex = new CamExtractor(model);
    expect(ex.defaultMethod()).to.equal('gradcam');
    expect(() => ex.checkMethod('cam')).to.throw(/use --method gradcam/);
    const x = featureTensor();
    const got = await ex.analyze(x, [Int32Array.from([0, 1])], 'gradcam');
    // alpha_k^c = mean over the 4 positions of W[pos*2+k][c].
    const alpha = (k: number, c: number) => [0, 1, 2, 3].reduce((a, p) => a + W[p * 2 + k][c], 0) / 4;
    const f0 = [1, 2, 3, 4];
    const f1 = [5, 6, 7, 8];
    const expected = [
      ...f0.map((v, i) => Math.max(0, alpha(0, 0) * v + alpha(1, 0) * f1[i])),
      ...f0.map((v, i) => Math.max(0, alpha(0, 1) * -v + alpha(1, 1) * -f1[i])),
    ];
    expect(alpha(0, 0)).to.equal(2); // (1 + 3 + 0 + 4) / 4
    expect(Array.from(got.maps[1])).to.deep.equal(expected);
    x.dispose();
    model.dispose();
  });

  it('gradCam on a head function: ReLU of the gradient-weighted sum', () => {
    const f = tf.tensor4d([1, -1, 2, -2], [1, 2, 2, 1]);
    const w = tf.tensor2d([[1, 0], [1, 0], [1, 0], [1, 0]]);
    // logit_0 = sum f * 1 -> alpha = 1, map = relu(f); logit_1 ignores f -> alpha = 0, map = 0.
    const head = (t: tf.Tensor4D) => tf.matMul(t.reshape([1, 4]), w) as tf.Tensor2D;
    const m0 = gradCam(f, head, Int32Array.from([0]));
    const m1 = gradCam(f, head, Int32Array.from([1]));
    expect(Array.from(m0.dataSync())).to.deep.equal([1, 0, 2, 0]);
    expect(Array.from(m1.dataSync())).to.deep.equal([0, 0, 0, 0]);
    tf.dispose([f, w, m0, m1]);
  });

  it('upsamples bilinearly with half-pixel centres', () => {
    const m = tf.tensor3d([0, 4, 8, 12], [1, 2, 2]);
    const up = upsampleMaps(m, 4, 4);
    expect(Array.from(up.dataSync())).to.deep.equal([0, 1, 3, 4, 2, 3, 5, 6, 6, 7, 9, 10, 8, 9, 11, 12]);
    tf.dispose([m, up]);
  });

  for (const body of BODY_NAMES) {
    for (const head of HEAD_NAMES) {
      it(`${body} + ${head}: structure and the head function reproduce the model's logits`, () => {
        const built = buildModel(tinyModelConfig(body, head), { inputShape: [32, 32, 3], numClasses: 4 }, 7);
        const s = camStructure(built.model);
        expect(s.cam).to.equal(head === 'gap' ? 'class-maps' : head === 'gap-dense' ? 'dense-weights' : undefined);
        expect(s.numClasses).to.equal(4);
        expect(s.inputShape).to.deep.equal([32, 32, 3]);
        const fn = headFunction(built.model);
        const x = batch(2, 32, 32, 3);
        const sub = tf.model({
          inputs: built.model.inputs,
          outputs: ['features', 'logits'].map((n) => built.model.getLayer(n).output as tf.SymbolicTensor),
        });
        const [feat, logits] = sub.predict(x) as tf.Tensor[];
        expect(feat.shape.slice(1)).to.deep.equal(s.featureShape);
        const again = tf.tidy(() => fn(feat as tf.Tensor4D)); // intermediates freed
        expect(Array.from(again.dataSync())).to.deep.equal(Array.from(logits.dataSync()));
        tf.dispose([x, feat, logits, again]);
        built.model.dispose();
      });
    }
  }

  it('names the missing layer of a model not built by the registry', () => {
    const input = tf.input({ shape: [2, 2, 1] });
    const out = apply(tf.layers.flatten({}), input);
    const m = tf.model({ name: 'plain', inputs: input, outputs: out });
    expect(() => camStructure(m)).to.throw(/no layer named 'features'/);
    m.dispose();
  });
});
