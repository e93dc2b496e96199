// Model folders in tfjs format: written without tfjs-node, reloaded by tf.loadLayersModel, same predictions.
import { expect } from 'chai';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { UserError } from '../../src/errors.js';
import { decodeTensors, encodeTensors, loadModelFromDir, saveModel, type TensorSpec } from '../../src/io/model-files.js';

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

  const SPECS: TensorSpec[] = [
    { name: 'a/b', shape: [3], dtype: 'float32' },
    { name: 'c', shape: [1, 1], dtype: 'int32' },
  ];
  async function encoded(): Promise<{ data: Buffer; manifest: Buffer }> {
    const t = { 'a/b': tf.tensor([1, 2, 3]), c: tf.tensor([[4]], [1, 1], 'int32') };
    const e = await encodeTensors(t);
    tf.dispose(Object.values(t));
    return e;
  }

  it('round-trips named tensors', async () => {
    const { data, manifest } = await encoded();
    expect(data.byteLength).to.equal(3 * 4 + 4);
    const t = decodeTensors('opt.bin', data, manifest, [...SPECS].reverse());
    expect(Array.from(t['a/b'].dataSync())).to.deep.equal([1, 2, 3]);
    expect(t.c.shape).to.deep.equal([1, 1]);
    expect(t.c.dtype).to.equal('int32');
    tf.dispose(Object.values(t));
  });

  it('refuses bytes or a manifest that do not hold exactly the expected tensors, naming the file at fault', async () => {
    const { data, manifest } = await encoded();
    const json = (v: unknown) => Buffer.from(JSON.stringify(v));
    const specs = JSON.parse(manifest.toString()) as TensorSpec[];
    const cases: Array<[string, Buffer, Buffer, readonly TensorSpec[], RegExp]> = [
      ['truncated bytes', data.subarray(0, 10), manifest, SPECS, /^opt\.bin: 10 bytes, its manifest describes 16$/],
      ['extra bytes', Buffer.concat([data, Buffer.alloc(4)]), manifest, SPECS, /^opt\.bin: 20 bytes/],
      ['empty manifest list', data, json([]), SPECS, /^opt\.bin\.json: lists 0 tensors, expected 2$/],
      ['manifest cut short', data, manifest.subarray(0, 20), SPECS, /^opt\.bin\.json: not valid JSON/],
      ['zero-byte manifest', data, Buffer.alloc(0), SPECS, /^opt\.bin\.json: not valid JSON/],
      ['not a manifest', data, json({ a: 1 }), SPECS, /^opt\.bin\.json: not a tensor manifest/],
      ['a shape changed', data, json([specs[0], { ...specs[1], shape: [1, 2] }]), SPECS, /^opt\.bin\.json: 'c' is \[1,2\] int32, expected \[1,1\] int32$/],
      ['a dtype changed', data, json([specs[0], { ...specs[1], dtype: 'float32' }]), SPECS, /'c' is \[1,1\] float32, expected \[1,1\] int32/],
      ['a name changed', data, json([specs[0], { ...specs[1], name: 'd' }]), SPECS, /^opt\.bin\.json: lists 'd', which is not expected/],
      ['a name twice', data, json([specs[0], specs[0]]), SPECS, /lists 'a\/b', which is not expected here \(or twice\)/],
      ['another model', data, manifest, [SPECS[0]], /lists 2 tensors, expected 1/],
    ];
    const before = tf.memory().numTensors;
    for (const [what, d, m, want, message] of cases) {
      expect(() => decodeTensors('opt.bin', d, m, want), what).to.throw(UserError, message);
    }
    expect(tf.memory().numTensors).to.equal(before);
  });
});
