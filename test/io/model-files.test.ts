// Model folders in tfjs format: written without tfjs-node, reloaded by tf.loadLayersModel, same predictions.
import { expect } from 'chai';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { loadModelFromDir, loadTensors, saveModel, saveTensors } from '../../src/io/model-files.js';

describe('model files', () => {
  it('round-trips a model through model.json + weights.bin', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gaplab-model-'));
    const m = tf.sequential({
      layers: [
        tf.layers.conv2d({ inputShape: [4, 4, 1], filters: 2, kernelSize: 3, name: 'c' }),
        tf.layers.globalAveragePooling2d({ name: 'g' }),
        tf.layers.dense({ units: 3, activation: 'softmax', name: 'd' }),
      ],
    });
    await saveModel(m, dir);
    const json = JSON.parse(fs.readFileSync(path.join(dir, 'model.json'), 'utf8'));
    expect(json.format).to.equal('layers-model');
    expect(json.weightsManifest[0].paths).to.deep.equal(['./weights.bin']);
    // 2*9+2 + 2*3+3 floats
    expect(fs.statSync(path.join(dir, 'weights.bin')).size).to.equal((20 + 9) * 4);
    const back = await loadModelFromDir(dir);
    const x = tf.randomNormal([2, 4, 4, 1], 0, 1, 'float32', 3);
    const a = (m.predict(x) as tf.Tensor).arraySync();
    const b = (back.predict(x) as tf.Tensor).arraySync();
    expect(b).to.deep.equal(a);
    x.dispose();
    m.dispose();
    back.dispose();
  });

  it('round-trips named tensors', async () => {
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'gaplab-t-')), 'opt.bin');
    await saveTensors({ 'a/b': tf.tensor([1, 2, 3]), c: tf.tensor([[4]], [1, 1], 'int32') }, file);
    const t = loadTensors(file);
    expect(Array.from(t['a/b'].dataSync())).to.deep.equal([1, 2, 3]);
    expect(t.c.shape).to.deep.equal([1, 1]);
    expect(t.c.dtype).to.equal('int32');
    tf.dispose(Object.values(t));
  });
});
