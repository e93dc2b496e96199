// Early stopping and the best-epoch tracker on hand-made epoch logs, and one tiny run that stops early.
import { expect } from 'chai';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { BestModel } from '../../src/train/callbacks/best-model.js';
import { EarlyStopping, type Monitor } from '../../src/train/callbacks/early-stopping.js';
import type { TrainState } from '../../src/train/callbacks/types.js';
import type { EpochLogs } from '../../src/run/metrics.js';
import { runTraining } from '../../src/train/run.js';
import type { RunSummary } from '../../src/run/summary.js';
import { microConfig } from './helpers.js';

/** An epoch row with nothing measured; each test sets the monitored value. */
const UNMEASURED: EpochLogs = {
  epoch: 0, lr: 0.1, train_loss: NaN, train_acc: NaN, train_eval_loss: NaN, train_eval_acc: NaN, val_loss: NaN, val_acc: NaN,
  gap_acc: NaN, gap_loss: NaN, epoch_seconds: 0, train_eval_seconds: 0, images_per_second: 0,
};

interface Outcome {
  /** 1-based epoch after which training stops; undefined when every value was fed. */
  stopEpoch?: number;
  stopReason?: string;
  /** 1-based epoch BestModel holds at the end. */
  bestEpoch?: number;
}

/**
 * Feeds `values` of `monitor` as consecutive epochs to EarlyStopping and BestModel, in the loop's order, and ends
 * as fit does: after the epoch where a callback set `stop`.
 */
async function feed(monitor: Monitor, patience: number, minDelta: number, values: number[]): Promise<Outcome> {
  const model = tf.sequential({ layers: [tf.layers.dense({ units: 1, inputShape: [1] })] });
  const best = new BestModel(model, monitor);
  const es = new EarlyStopping(monitor, patience, minDelta);
  const s = { stop: false } as TrainState;
  let stopEpoch: number | undefined;
  for (const [i, v] of values.entries()) {
    const logs: EpochLogs = { ...UNMEASURED, epoch: i + 1, [monitor]: v };
    await best.onEpochEnd(logs);
    es.onEpochEnd(logs, s);
    if (s.stop) {
      stopEpoch = i + 1;
      break;
    }
  }
  const out: Outcome = { stopEpoch, stopReason: s.stopReason, bestEpoch: best.best?.epoch };
  best.dispose();
  model.dispose();
  return out;
}

describe('train/callbacks/early-stopping', () => {
  it('val_loss, patience 2: stops after two epochs without a lower loss; best is the lowest', async () => {
    // 1.0 (best), 0.8 (best, wait 0), 0.9 (wait 1), 0.85 (wait 2: stop). 0.1 is never seen.
    expect(await feed('val_loss', 2, 0, [1.0, 0.8, 0.9, 0.85, 0.1])).to.deep.equal({
      stopEpoch: 4, stopReason: 'early stopping: val_loss did not improve for 2 epochs', bestEpoch: 2,
    });
  });

  it('val_loss: an equal value is no improvement, so the first of equal epochs stays best', async () => {
    expect(await feed('val_loss', 2, 0, [0.5, 0.5, 0.5, 0.1])).to.deep.include({ stopEpoch: 3, bestEpoch: 1 });
  });

  it('val_loss, minDelta 0.25: a drop of exactly 0.25 or less does not reset patience, a larger one does', async () => {
    // Powers of two keep the comparisons exact. 1 -> 0.75 (= 1 - 0.25, not better: wait 1) -> 0.5 (< 0.75: best, wait 0)
    // -> 0.375 (wait 1) -> 0.3125 (wait 2: stop at 5). BestModel has no minDelta: 0.3125 is its best epoch.
    expect(await feed('val_loss', 2, 0.25, [1, 0.75, 0.5, 0.375, 0.3125, 0.0625])).to.deep.include({ stopEpoch: 5, bestEpoch: 5 });
    // Without minDelta the same losses improve every epoch: no stop, best is the last.
    expect(await feed('val_loss', 2, 0, [1, 0.75, 0.5, 0.375, 0.3125, 0.0625])).to.deep.include({ stopEpoch: undefined, bestEpoch: 6 });
  });

  it('val_acc, patience 3, minDelta 1/16: higher is better, a rise of 1/16 does not count', async () => {
    // 0.5 (best) -> 0.625 (> 0.5625: best, wait 0) -> 0.6875 (= 0.625 + 1/16: wait 1) -> 0.625 (wait 2) -> 0.5625 (wait 3:
    // stop at 5). BestModel took 0.6875 at epoch 3.
    expect(await feed('val_acc', 3, 1 / 16, [0.5, 0.625, 0.6875, 0.625, 0.5625, 1])).to.deep.equal({
      stopEpoch: 5, stopReason: 'early stopping: val_acc did not improve for 3 epochs', bestEpoch: 3,
    });
    // The same numbers read as losses: the falling tail improves, the best is the lowest.
    expect(await feed('val_loss', 3, 1 / 16, [0.5, 0.625, 0.6875, 0.625, 0.5625, 1])).to.deep.include({ stopEpoch: 4, bestEpoch: 1 });
  });

  it('patience 0 is off: ten worsening epochs never stop', async () => {
    const worse = Array.from({ length: 10 }, (_, i) => 1 + i);
    expect(await feed('val_loss', 0, 0, worse)).to.deep.equal({ stopEpoch: undefined, stopReason: undefined, bestEpoch: 1 });
  });
});

describe('early stopping in a run (micro config)', function () {
  this.timeout(120_000);

  it('stops after `patience` epochs, records stopReason and the best epoch in summary.json', async () => {
    await tf.setBackend('cpu');
    const out = fs.mkdtempSync(path.join(os.tmpdir(), 'gaplab-es-'));
    // minDelta 100: after epoch 1 no val_loss change can count, so patience 2 stops after epoch 3 of 6, whatever the data.
    const sets = ['train.epochs=6', 'train.earlyStopping.patience=2', 'train.earlyStopping.minDelta=100'];
    const ret = await runTraining(microConfig(out, sets), { log: () => {}, warn: () => {}, live: false });
    const s = JSON.parse(fs.readFileSync(path.join(ret.runDir, 'summary.json'), 'utf8')) as RunSummary;
    expect(s.status).to.equal('completed');
    expect(s.stopReason).to.equal('early stopping: val_loss did not improve for 2 epochs');
    expect(s.epochsRun).to.equal(3);
    expect(s.final?.epoch).to.equal(3);
    // The best epoch is the lowest val_loss in metrics.csv (first on ties), found here independently of BestModel.
    const [header, ...rows] = fs.readFileSync(path.join(ret.runDir, 'metrics.csv'), 'utf8').trim().split('\n');
    expect(rows).to.have.length(3);
    const col = header.split(',').indexOf('val_loss');
    const losses = rows.map((r) => Number(r.split(',')[col]));
    expect(s.best?.epoch).to.equal(losses.indexOf(Math.min(...losses)) + 1);
    expect(s.best?.val_loss).to.be.closeTo(Math.min(...losses), 1e-6);
  });
});
