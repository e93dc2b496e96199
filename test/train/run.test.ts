// End to end: a 2-epoch run on the built-in data writes every output, learns, reloads, and leaks no tensors.
import { expect } from 'chai';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import YAML from 'yaml';
import { applyOverrides, validateConfig } from '../../src/config/load.js';
import { configSchema } from '../../src/config/schema.js';
import { preprocessorFromJSON } from '../../src/data/preprocess.js';
import { loadDataset } from '../../src/data/registry.js';
import { loadModelFromDir } from '../../src/io/model-files.js';
import { METRIC_COLUMNS } from '../../src/run/metrics.js';
import { runTraining } from '../../src/train/run.js';
import type { RunSummary } from '../../src/run/summary.js';
import { microConfig } from './helpers.js';
import { needsNative } from '../requires.js';

describe('training run (end to end, built-in data)', function () {
  this.timeout(300_000);
  let dir: string;
  let summary: RunSummary;
  const tensorsAtEpochEnd: number[] = [];
  const lines: string[] = [];

  before(async () => {
    await tf.setBackend('cpu');
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gaplab-run-'));
    summary = await runTraining(microConfig(dir), {
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
    expect(path.dirname(summary.runDir)).to.equal(path.join(dir, 'micro'));
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
      expect(v.lr).to.equal(i === 0 ? 0.05 : 0.025); // cosine over 2 epochs
      for (const k of ['train_acc', 'train_eval_acc', 'val_acc'] as const) expect(v[k]).to.be.within(0, 1);
      for (const k of ['train_loss', 'train_eval_loss', 'val_loss'] as const) expect(v[k]).to.be.greaterThan(0);
      expect(v.gap_acc).to.be.closeTo(v.train_eval_acc - v.val_acc, 2e-6);
      expect(v.gap_loss).to.be.closeTo(v.val_loss - v.train_eval_loss, 2e-6);
      expect(v.epoch_seconds).to.be.greaterThan(0);
      expect(v.train_eval_seconds).to.be.within(0, v.epoch_seconds);
      expect(v.images_per_second).to.be.greaterThan(0);
    });
  });

  it('summary.json records status, backend, parameters, best epoch and test results', () => {
    const s = JSON.parse(fs.readFileSync(path.join(summary.runDir, 'summary.json'), 'utf8')) as RunSummary;
    expect(s.status).to.equal('completed');
    expect(s.backend?.name).to.equal('cpu');
    // Body: conv 3*3*3*4 + 4 = 112 (8x8 'same', pooled to 4x4x4). Head: flatten 64 -> dense 8: 64*8 + 8 = 520 -> 2 classes: 8*2 + 2 = 18.
    expect(s.model.params).to.deep.equal({ total: 650, body: 112, head: 538 });
    expect(s.epochsRun).to.equal(2);
    expect(s.dataset).to.deep.include({ train: 32, val: 16, trainEval: 16, test: 16, classes: 2 });
    expect(s.test?.final.error).to.be.closeTo(1 - (s.test?.final.acc ?? 0), 1e-12);
    expect([1, 2]).to.include(s.best?.epoch);
    expect(s.configSha256).to.match(/^[0-9a-f]{64}$/);
  });

  it('the saved model reloads with tf.loadLayersModel and reproduces the test result', async () => {
    const m = await loadModelFromDir(path.join(summary.runDir, 'model'));
    const pre = preprocessorFromJSON(JSON.parse(fs.readFileSync(path.join(summary.runDir, 'preprocessing.json'), 'utf8')));
    const cfg = microConfig(dir);
    const data = await loadDataset(cfg.data, cfg.seed);
    // Same preprocessing, same weights: the reloaded softmax model's accuracy equals the run's final test accuracy.
    const x = tf.tensor4d(pre.toFloat(data.test.images, data.test.n, 8, 8, 3), [data.test.n, 8, 8, 3]);
    const pred = Array.from(tf.tidy(() => (m.predict(x) as tf.Tensor).argMax(1).dataSync()));
    const acc = pred.filter((p, i) => p === data.test.labels[i]).length / data.test.n;
    expect(acc).to.equal(summary.test?.final.acc);
    expect((m.outputs[0].shape)).to.deep.equal([null, 2]);
    x.dispose();
    m.dispose();
  });

  it('tensor count does not grow from epoch to epoch', () => {
    expect(tensorsAtEpochEnd).to.have.length(2);
    expect(tensorsAtEpochEnd[1]).to.equal(tensorsAtEpochEnd[0]);
  });
});

describe('training run learns (2 epochs, built-in data, fast backend)', function () {
  this.timeout(300_000);

  it('reaches test accuracy well above a trivial model (chance = majority class = 1/3)', async function () {
    needsNative(this); // ~15 minutes on the pure-JS backend; the native backend takes seconds
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gaplab-learn-'));
    const cfg = validateConfig(
      applyOverrides({}, [
        'experiment=learn', 'backend=native', `outputDir=${dir}`, 'seed=3',
        'data.synthetic.classes=3', 'data.synthetic.clutter=0.3', 'data.synthetic.trainSize=8000', 'data.synthetic.testSize=300',
        'data.synthetic.imageSize=16', 'data.validationSize=150', 'data.augmentation.crop=0',
        'model.body=cnn', 'model.head=fc', 'model.cnn.stages=[{filters: 16, convs: 1}, {filters: 32, convs: 1}]', 'model.fc.hidden=[32]',
        'train.epochs=2', 'train.batchSize=16', 'train.optimizer.name=adam', 'train.optimizer.lr=0.002', 'train.schedule.name=constant',
      ]),
      'learn',
    );
    const s = await runTraining(cfg, { log: () => {}, warn: () => {}, live: false });
    expect(s.test?.final.acc).to.be.greaterThan(0.45);
    expect(s.final?.train_loss).to.be.lessThan(Math.log(3) - 0.03);
  });
});
