// Exact resume of a batch-norm model (ResNet-8): the checkpoint carries the moving statistics, so metrics match.
import { expect } from 'chai';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { runTraining } from '../../src/train/run.js';
import { deterministicColumns, microConfig } from './helpers.js';

const quiet = { log: () => {}, warn: () => {}, live: false };
// ResNet-8 of width 2 (stages of 2, 4, 8 channels; 9 batch-norm layers, 2 of them on projections) on 8x8 images; 3 epochs of 4 batches.
const SETS = [
  'model.body=resnet', 'model.resnet.depth=8', 'model.resnet.width=2', 'model.head=gap-dense',
  'train.epochs=3', 'train.checkpointMinutes=0',
];

describe('resume of a batch-norm model', function () {
  this.timeout(300_000);

  it('interrupted after epoch 1 and resumed: metrics.csv and test result equal an uninterrupted run', async () => {
    await tf.setBackend('cpu');
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'gaplab-resume-bn-'));
    const reference = await runTraining(microConfig(path.join(root, 'ref'), SETS), quiet);
    expect(reference.status).to.equal('completed');

    // Ctrl-C as the CLI does it, at the end of epoch 1: training stops after the next batch (epoch 2, batch 1) and
    // checkpoints there, mid-epoch, with moving means and variances that epoch 2's first batch has already moved.
    const config = microConfig(path.join(root, 'resumed'), SETS);
    const abort = new AbortController();
    const first = await runTraining(config, {
      ...quiet, signal: abort.signal, callbacks: [{ onEpochEnd: (l) => void (l.epoch === 1 && abort.abort()) }],
    });
    expect(first.status).to.equal('interrupted');
    const st = JSON.parse(fs.readFileSync(path.join(first.runDir, 'checkpoint', 'state.json'), 'utf8')) as { epoch: number; batch: number };
    expect([st.epoch, st.batch]).to.deep.equal([1, 1]);

    const resumed = await runTraining(config, { ...quiet, runDir: first.runDir, resume: true });
    expect(resumed.status).to.equal('completed');
    // val_loss and the test result are inference-mode numbers: they use the moving statistics, so they would differ if
    // the resumed model restarted from mean 0 and variance 1.
    expect(deterministicColumns(first.runDir)).to.deep.equal(deterministicColumns(reference.runDir));
    expect(resumed.test).to.deep.equal(reference.test);
  });
});
