// End to end: a 2-epoch run on the built-in data writes every output, learns, reloads, and leaks no tensors.
import { expect } from 'chai';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import YAML from 'yaml';
import { applyOverrides, validateConfig } from '../../src/config/load.js';
import { configSchema } from '../../src/config/schema.js';
import { fitPreprocessor, preprocessorFromJSON } from '../../src/data/preprocess.js';
import { loadModelFromDir } from '../../src/io/model-files.js';
import { METRIC_COLUMNS } from '../../src/train/callbacks/csv-logger.js';
import { runTraining } from '../../src/train/run.js';
import type { RunSummary } from '../../src/train/summary.js';

/** A config small enough for the pure-JS backend: 16x16 synthetic images, a narrow CNN. */
export function tinyRunConfig(outputDir: string, sets: string[] = []) {
  const tree = applyOverrides({}, [
    'experiment=tiny', 'backend=cpu', `outputDir=${outputDir}`, 'seed=3',
    'data.name=synthetic', 'data.synthetic.classes=3', 'data.synthetic.trainSize=360', 'data.synthetic.testSize=120',
    'data.synthetic.imageSize=16', 'data.validationSize=60', 'data.augmentation.crop=0',
    'model.body=cnn', 'model.head=gap-dense', 'model.cnn.stages=[{filters: 8, convs: 1}, {filters: 16, convs: 1}]',
    'model.cnn.dropout=0.1', 'train.epochs=2', 'train.batchSize=20', 'train.optimizer.name=adam', 'train.optimizer.lr=0.01',
    'train.schedule.name=constant', ...sets,
  ]);
  return validateConfig(tree, 'tiny');
}

describe('training run (end to end, built-in data)', function () {
  this.timeout(300_000);
  let dir: string;
  let summary: RunSummary;
  const tensorsAtEpochEnd: number[] = [];
  const lines: string[] = [];

  before(async () => {
    await tf.setBackend('cpu');
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gaplab-run-'));
    summary = await runTraining(tinyRunConfig(dir), {
      log: (l) => lines.push(l),
      warn: (l) => lines.push(l),
      live: false,
      callbacks: [{ onEpochEnd: () => void tensorsAtEpochEnd.push(tf.memory().numTensors) }],
    });
  });

  it('writes config.yaml (resolved), metrics.csv, summary.json and both models', () => {
    for (const f of ['config.yaml', 'metrics.csv', 'summary.json', 'preprocessing.json', 'classes.json', 'model/model.json', 'model/weights.bin', 'model-best/model.json']) {
      expect(fs.existsSync(path.join(summary.runDir, f)), f).to.equal(true);
    }
    expect(path.dirname(summary.runDir)).to.equal(path.join(dir, 'tiny'));
    const cfg = configSchema.parse(YAML.parse(fs.readFileSync(path.join(summary.runDir, 'config.yaml'), 'utf8')));
    expect(cfg.train.epochs).to.equal(2);
    expect(cfg.train.optimizer.momentum).to.equal(0.9); // a default, filled in
  });

  it('metrics.csv has one row per epoch with the documented columns and values in range', () => {
    const [header, ...rows] = fs.readFileSync(path.join(summary.runDir, 'metrics.csv'), 'utf8').trim().split('\n');
    expect(header.split(',')).to.deep.equal([...METRIC_COLUMNS]);
    expect(rows).to.have.length(2);
    rows.forEach((r, i) => {
      const v = Object.fromEntries(r.split(',').map((x, j) => [METRIC_COLUMNS[j], Number(x)]));
      expect(v.epoch).to.equal(i + 1);
      expect(v.lr).to.equal(0.01);
      for (const k of ['train_acc', 'val_acc'] as const) expect(v[k]).to.be.within(0, 1);
      for (const k of ['train_loss', 'val_loss'] as const) expect(v[k]).to.be.greaterThan(0);
      expect(v.gap_acc).to.be.closeTo(v.train_acc - v.val_acc, 2e-6);
      expect(v.gap_loss).to.be.closeTo(v.val_loss - v.train_loss, 2e-6);
      expect(v.epoch_seconds).to.be.greaterThan(0);
      expect(v.images_per_second).to.be.greaterThan(0);
    });
  });

  it('summary.json records status, backend, parameters, best epoch and test results', () => {
    const s = JSON.parse(fs.readFileSync(path.join(summary.runDir, 'summary.json'), 'utf8')) as RunSummary;
    expect(s.status).to.equal('completed');
    expect(s.backend?.name).to.equal('cpu');
    expect(s.model.params?.total).to.equal((s.model.params?.body ?? 0) + (s.model.params?.head ?? 0));
    expect(s.epochsRun).to.equal(2);
    expect(s.dataset).to.deep.include({ train: 300, val: 60, test: 120, classes: 3 });
    expect(s.test?.final.error).to.be.closeTo(1 - (s.test?.final.acc ?? 0), 1e-12);
    expect([1, 2]).to.include(s.best?.epoch);
    expect(s.configSha256).to.match(/^[0-9a-f]{64}$/);
  });

  it('learns: test accuracy is well above chance (1/3)', () => {
    expect(summary.test?.final.acc).to.be.greaterThan(0.5);
  });

  it('the saved model reloads with tf.loadLayersModel and predicts the same', async () => {
    const m = await loadModelFromDir(path.join(summary.runDir, 'model'));
    const pre = preprocessorFromJSON(JSON.parse(fs.readFileSync(path.join(summary.runDir, 'preprocessing.json'), 'utf8')));
    expect(pre.kind).to.equal(fitPreprocessor('standardize', { images: new Uint8Array(3), labels: new Int32Array(1), n: 1, height: 1, width: 1, channels: 3 }).kind);
    const x = tf.randomUniform([4, 16, 16, 3], -1, 1, 'float32', 5);
    const m2 = await loadModelFromDir(path.join(summary.runDir, 'model'));
    const a = (m.predict(x) as tf.Tensor).arraySync();
    const b = (m2.predict(x) as tf.Tensor).arraySync();
    expect(a).to.deep.equal(b);
    expect((m.predict(x) as tf.Tensor).shape).to.deep.equal([4, 3]);
    x.dispose();
    m.dispose();
    m2.dispose();
  });

  it('tensor count does not grow from epoch to epoch', () => {
    expect(tensorsAtEpochEnd).to.have.length(2);
    expect(tensorsAtEpochEnd[1]).to.equal(tensorsAtEpochEnd[0]);
  });
});
