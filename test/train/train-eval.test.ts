// The train-eval pass: a fixed, seeded training sample evaluated in inference mode at each epoch end (the true gap).
import { expect } from 'chai';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import YAML from 'yaml';
import { applyOverrides, validateConfig } from '../../src/config/load.js';
import { configSchema, type Config } from '../../src/config/schema.js';
import { preprocessorFromJSON } from '../../src/data/preprocess.js';
import { loadDataset } from '../../src/data/registry.js';
import { splitTrainVal } from '../../src/data/split.js';
import type { ImageSet } from '../../src/data/types.js';
import { UserError } from '../../src/errors.js';
import { loadModelFromDir } from '../../src/io/model-files.js';
import { countParams } from '../../src/models/params.js';
import { logitsModel } from '../../src/models/registry.js';
import { METRIC_COLUMNS } from '../../src/run/metrics.js';
import { evaluate } from '../../src/train/evaluate.js';
import { runTraining, type RunOptions } from '../../src/train/run.js';
import type { RunSummary } from '../../src/run/summary.js';
import { trainEvalCount, trainEvalSample } from '../../src/train/train-eval.js';
import { deterministicColumns, microConfig } from './helpers.js';

type Row = Record<(typeof METRIC_COLUMNS)[number], string>;

/** metrics.csv as raw cells keyed by column (raw, so an empty cell is told apart from 0). */
function metricRows(runDir: string): Row[] {
  const [header, ...lines] = fs.readFileSync(path.join(runDir, 'metrics.csv'), 'utf8').trim().split('\n');
  const names = header.split(',');
  return lines.map((l) => Object.fromEntries(l.split(',').map((x, j) => [names[j], x])) as Row);
}

/** The run's resolved config, read back from its folder. */
function runConfig(runDir: string): Config {
  return configSchema.parse(YAML.parse(fs.readFileSync(path.join(runDir, 'config.yaml'), 'utf8')));
}

/** The sample a config's run evaluates, rebuilt from scratch: data, split, then the exported sampling function. */
async function sampleOf(cfg: Config): Promise<{ train: ImageSet; sample: ImageSet }> {
  const data = await loadDataset(cfg.data, cfg.seed);
  const { train, val } = splitTrainVal(data.train, cfg.data.validationSize, cfg.seed);
  return { train, sample: trainEvalSample(train, trainEvalCount(cfg.train.trainEvalSize, train.n, val.n), cfg.seed) };
}

/** Loss and accuracy of a run's saved final model (model/) on `set`, in inference mode. */
async function evaluateSaved(runDir: string, set: ImageSet, batchSize: number): Promise<{ loss: number; acc: number }> {
  const model = await loadModelFromDir(path.join(runDir, 'model'));
  const net = logitsModel({ model, logitsLayer: 'logits', featureLayer: 'features', params: countParams(model) });
  const pre = preprocessorFromJSON(JSON.parse(fs.readFileSync(path.join(runDir, 'preprocessing.json'), 'utf8')));
  try {
    return await evaluate(net, set, pre, batchSize); // awaited before the finally disposes the model
  } finally {
    net.dispose();
    model.dispose();
  }
}

/** Per row, the columns the train-eval pass must not change: epoch, lr, the running train numbers, validation. */
const trainedColumns = (runDir: string) =>
  metricRows(runDir).map((r) => [r.epoch, r.lr, r.train_loss, r.train_acc, r.val_loss, r.val_acc].join(','));

const sameImages = (a: ImageSet, b: ImageSet) =>
  a.n === b.n && Buffer.from(a.images).equals(Buffer.from(b.images)) && Buffer.from(a.labels.buffer).equals(Buffer.from(b.labels.buffer));

/** Images the logits model saw in inference mode (net.apply with training: false) while `f` ran. */
async function inferenceImages<T>(f: () => Promise<T>): Promise<{ result: T; images: number }> {
  const proto = tf.LayersModel.prototype;
  const apply = proto.apply;
  let images = 0;
  proto.apply = function (this: tf.LayersModel, inputs, kwargs) {
    if (kwargs?.training === false && inputs instanceof tf.Tensor) images += inputs.shape[0];
    return apply.call(this, inputs, kwargs);
  };
  try {
    return { result: await f(), images };
  } finally {
    proto.apply = apply;
  }
}

describe('train-eval sample (unit)', () => {
  const n = 10;
  // Image i holds the pixels [2i, 2i+1] and label i, so a picked image shows where it came from.
  const set: ImageSet = {
    images: Uint8Array.from({ length: n * 2 }, (_, i) => i), labels: Int32Array.from({ length: n }, (_, i) => i),
    n, height: 1, width: 1, channels: 2,
  };

  it('draws a seeded subset without replacement, in the set order (pinned: a change would move every run\'s sample)', () => {
    const a = trainEvalSample(set, 4, 1);
    expect(Array.from(a.labels)).to.deep.equal([0, 3, 5, 9]);
    expect(Array.from(a.images)).to.deep.equal([0, 1, 6, 7, 10, 11, 18, 19]);
    expect(Array.from(trainEvalSample(set, 4, 2).labels)).to.deep.equal([3, 4, 6, 8]);
    expect(sameImages(trainEvalSample(set, 4, 1), a)).to.equal(true); // drawn again: the same
  });

  it('count 0 is an empty set, count >= n the whole set', () => {
    expect(trainEvalSample(set, 0, 1).n).to.equal(0);
    expect(trainEvalSample(set, n, 1)).to.equal(set);
    expect(trainEvalSample(set, 1000, 1)).to.equal(set);
  });

  it("resolves train.trainEvalSize: 'val' = the validation set's size, capped at the training set", () => {
    expect(trainEvalCount('val', 32, 16)).to.equal(16);
    expect(trainEvalCount('val', 32, 0)).to.equal(0);
    expect(trainEvalCount(0, 32, 16)).to.equal(0);
    expect(trainEvalCount(20, 32, 16)).to.equal(20);
    expect(trainEvalCount(1000, 32, 16)).to.equal(32);
  });

  it("the schema defaults to 'val' and rejects -1, 'foo' and 2.5 with the key path train.trainEvalSize", () => {
    expect(validateConfig({}, 'x').train.trainEvalSize).to.equal('val');
    expect(validateConfig({ train: { trainEvalSize: 0 } }, 'x').train.trainEvalSize).to.equal(0);
    for (const bad of [-1, 'foo', 2.5]) {
      expect(() => validateConfig({ train: { trainEvalSize: bad } }, 'x'), String(bad)).to.throw(UserError, /train\.trainEvalSize: /);
    }
    expect(() => validateConfig(applyOverrides({}, ['train.trainEvalSizes=3']), 'x')).to.throw(UserError, /train\.trainEvalSizes: unknown key/);
  });
});

describe('train-eval in training runs', function () {
  this.timeout(300_000);
  const lines: string[] = [];
  const quiet: RunOptions = { log: (l) => lines.push(l), warn: () => {}, live: false };
  // 3 epochs; evalBatchSize 5 splits the 16-image validation set and sample into batches of 5, 5, 5, 1.
  const sets = ['train.epochs=3', 'train.evalBatchSize=5'];
  let root: string;
  let fc: { result: RunSummary; images: number };
  let off: { result: RunSummary; images: number };
  const tensorsAtEpochEnd: number[] = [];

  before(async () => {
    await tf.setBackend('cpu');
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'gaplab-train-eval-'));
    const counting = { onEpochEnd: () => void tensorsAtEpochEnd.push(tf.memory().numTensors) };
    fc = await inferenceImages(() => runTraining(microConfig(path.join(root, 'fc'), sets), { ...quiet, callbacks: [counting] }));
    off = await inferenceImages(() => runTraining(microConfig(path.join(root, 'off'), [...sets, 'train.trainEvalSize=0']), quiet));
  });

  it('metrics.csv has train_eval_loss and train_eval_acc right after train_acc, and train_eval_seconds', () => {
    const header = fs.readFileSync(path.join(fc.result.runDir, 'metrics.csv'), 'utf8').split('\n')[0];
    expect(header).to.equal(
      'epoch,lr,train_loss,train_acc,train_eval_loss,train_eval_acc,val_loss,val_acc,gap_acc,gap_loss,' +
        'epoch_seconds,train_eval_seconds,images_per_second',
    );
    expect(fc.result.dataset?.trainEval).to.equal(16); // 'val': as many as the validation set
  });

  it("the last epoch's train_eval_* equal evaluate() of the saved final model on the independently rebuilt sample", async () => {
    const runDir = fc.result.runDir;
    const cfg = runConfig(runDir);
    const { train, sample } = await sampleOf(cfg);
    expect([train.n, sample.n]).to.deep.equal([32, 16]);
    const direct = await evaluateSaved(runDir, sample, cfg.train.evalBatchSize);
    const last = metricRows(runDir).at(-1)!;
    expect(Number(last.train_eval_loss)).to.be.closeTo(direct.loss, 1e-6);
    expect(Number(last.train_eval_acc)).to.be.closeTo(direct.acc, 1e-6);
    expect(fc.result.final?.train_eval_loss).to.be.closeTo(direct.loss, 1e-6);
    expect(fc.result.final?.train_eval_acc).to.be.closeTo(direct.acc, 1e-6);
    // The sample, not the whole training set (a different loss), and not the running train numbers.
    expect((await evaluateSaved(runDir, train, cfg.train.evalBatchSize)).loss).to.not.be.closeTo(direct.loss, 1e-4);
    expect(Number(last.train_eval_loss)).to.not.equal(Number(last.train_loss));
  });

  it('gap_acc = train_eval_acc - val_acc and gap_loss = val_loss - train_eval_loss, row by row', () => {
    const rows = metricRows(fc.result.runDir);
    expect(rows).to.have.length(3);
    for (const r of rows) {
      const v = (k: keyof Row) => Number(r[k]);
      expect(v('gap_acc')).to.be.closeTo(v('train_eval_acc') - v('val_acc'), 2e-6); // three values rounded to 1e-6
      expect(v('gap_loss')).to.be.closeTo(v('val_loss') - v('train_eval_loss'), 2e-6);
      expect(v('train_eval_seconds')).to.be.within(0, v('epoch_seconds'));
    }
    const f = fc.result.final!;
    expect(f.gap_acc).to.equal(f.train_eval_acc - f.val_acc);
    expect(f.gap_loss).to.equal(f.val_loss - f.train_eval_loss);
  });

  it('the epoch line shows the train-eval numbers and their cost', () => {
    const line = lines.find((l) => l.startsWith('epoch 3/3') && l.includes('train_eval_acc'));
    expect(line).to.match(/train_eval_loss \d\.\d{4} {2}train_eval_acc \d\.\d{4} \(eval \d+\.\ds, \d+%\) {2}val_loss/);
  });

  it('the sample is the same for two heads under one seed, and another for another seed', async () => {
    const gap = await runTraining(microConfig(path.join(root, 'gap'), [...sets, 'model.head=gap']), quiet);
    const a = await sampleOf(runConfig(fc.result.runDir));
    const b = await sampleOf(runConfig(gap.runDir));
    expect(runConfig(gap.runDir).model.head).to.equal('gap');
    expect(sameImages(a.sample, b.sample)).to.equal(true);
    // That is the sample the gap run evaluated too.
    const direct = await evaluateSaved(gap.runDir, b.sample, runConfig(gap.runDir).train.evalBatchSize);
    expect(gap.final?.train_eval_loss).to.be.closeTo(direct.loss, 1e-6);
    expect(gap.final?.train_eval_acc).to.be.closeTo(direct.acc, 1e-6);
    // Another seed: another sample, from the same training set as well as from its own split.
    expect(sameImages(trainEvalSample(a.train, 16, 6), a.sample)).to.equal(false);
    expect(sameImages((await sampleOf(microConfig(root, [...sets, 'seed=6']))).sample, a.sample)).to.equal(false);
  });

  it('trainEvalSize 0: empty cells, no evaluation, and training itself unchanged', () => {
    const rows = metricRows(off.result.runDir);
    expect(rows).to.have.length(3);
    for (const r of rows) {
      expect([r.train_eval_loss, r.train_eval_acc, r.gap_acc, r.gap_loss]).to.deep.equal(['', '', '', '']);
      expect(r.train_eval_seconds).to.equal('0');
      expect(Number(r.val_acc)).to.be.within(0, 1);
    }
    expect(off.result.dataset?.trainEval).to.equal(0);
    // Inference-mode images: 3 epochs x 16 more with the sample (everything else, validation and test, is the same).
    expect(fc.images - off.images).to.equal(3 * 16);
    // The pass reads the weights only: every other measured number is identical.
    expect(trainedColumns(off.result.runDir)).to.deep.equal(trainedColumns(fc.result.runDir));
    expect(off.result.test).to.deep.equal(fc.result.test);
  });

  it('tensor count does not grow from epoch to epoch with the extra evaluation', () => {
    expect(tensorsAtEpochEnd).to.have.length(3);
    expect(new Set(tensorsAtEpochEnd).size, `tensor counts per epoch: ${tensorsAtEpochEnd.join(' ')}`).to.equal(1);
  });

  it('resumes a checkpoint written before train-eval existed: NaN (empty cells) for its rows, values after', async () => {
    const out = path.join(root, 'old');
    const cfg = microConfig(out, sets);
    const stop = new AbortController();
    const interrupt = { onBatchEnd: (_l: unknown, s: { epoch: number; batch: number }) => void (s.epoch === 1 && s.batch === 2 && stop.abort()) };
    const first = await runTraining(cfg, { ...quiet, signal: stop.signal, callbacks: [interrupt] });
    expect(first.status).to.equal('interrupted');
    // Make the checkpoint look like an older version's: no train_eval_* fields, gaps from the running train numbers.
    const stateFile = path.join(first.runDir, 'checkpoint', 'state.json');
    const state = JSON.parse(fs.readFileSync(stateFile, 'utf8')) as { history: Array<Record<string, unknown>>; best?: Record<string, unknown> };
    expect(state.history).to.have.length(1);
    for (const row of [...state.history, ...(state.best ? [state.best] : [])]) {
      for (const k of ['train_eval_loss', 'train_eval_acc', 'train_eval_seconds']) delete row[k];
      row.gap_acc = (row.train_acc as number) - (row.val_acc as number);
    }
    fs.writeFileSync(stateFile, JSON.stringify(state));
    const resumed = await runTraining(cfg, { ...quiet, runDir: first.runDir, resume: true });
    expect(resumed.status).to.equal('completed');
    const rows = metricRows(first.runDir);
    expect(rows.map((r) => r.epoch)).to.deep.equal(['1', '2', '3']);
    expect([rows[0].train_eval_loss, rows[0].train_eval_acc, rows[0].gap_acc, rows[0].gap_loss, rows[0].train_eval_seconds]).to.deep.equal(['', '', '', '', '']);
    // Epochs run after the resume match the uninterrupted run exactly; epoch 1 does apart from the blanked cells.
    const ref = deterministicColumns(fc.result.runDir);
    expect(deterministicColumns(first.runDir).slice(2)).to.deep.equal(ref.slice(2));
    expect(trainedColumns(first.runDir)[0]).to.equal(trainedColumns(fc.result.runDir)[0]);
  });
});
