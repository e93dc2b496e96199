// Reliability: determinism, divergence guard, flat tensor count over many epochs, early refusal of bad outputs.
import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import YAML from 'yaml';
import { UserError } from '../../src/errors.js';
import { DivergedError } from '../../src/train/loop.js';
import { runTraining } from '../../src/train/run.js';
import { readSummary } from '../../src/run/summary.js';
import { deterministicColumns, microConfig } from './helpers.js';
import { needsNative } from '../requires.js';

const quiet = { log: () => {}, warn: () => {}, live: false };
const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'gaplab-rel-'));

describe('reliability', function () {
  this.timeout(300_000);
  before(async () => {
    await tf.setBackend('cpu');
  });

  it('same config, seed and backend give the same metrics.csv, bit for bit (timing columns aside)', async () => {
    const a = await runTraining(microConfig(tmp()), quiet);
    const b = await runTraining(microConfig(tmp()), quiet);
    expect(deterministicColumns(b.runDir)).to.deep.equal(deterministicColumns(a.runDir));
    expect(b.test).to.deep.equal(a.test);
    const c = await runTraining(microConfig(tmp(), ['seed=6']), quiet);
    expect(deterministicColumns(c.runDir)).to.not.deep.equal(deterministicColumns(a.runDir));
  });

  it('the native backend reproduces a run bit for bit in a new process (convolution choices saved and reused)', async function () {
    // A fixed GAPLAB_CONV_LAYOUT is deterministic by itself and records no choices.
    needsNative(this);
    if ((process.env.GAPLAB_CONV_LAYOUT ?? 'auto') !== 'auto') this.skip();
    const out = tmp();
    const choices = path.join(out, 'choices');
    // Two processes: each starts with no plans; the first times the layouts and saves its picks on exit, the second
    // reuses them. Without the file the second would time again and could pick differently (last-bit changes).
    const sets = [
      'backend=native', 'threads=2', 'model.body=nin', 'model.head=gap', 'model.gap.activation=linear', 'model.nin.width=0.1',
      'data.synthetic.imageSize=16', 'data.synthetic.trainSize=200', 'train.epochs=3', 'train.optimizer.name=adam', 'train.optimizer.lr=0.003',
    ];
    const config = path.join(out, 'c.yaml');
    fs.writeFileSync(config, YAML.stringify(microConfig(out, sets)));
    const train = () =>
      execFileSync(process.execPath, ['--import', 'tsx', path.resolve('src/cli/train.ts'), '--config', config, '--progress', 'false'], {
        env: { ...process.env, GAPLAB_CONV_CHOICES: choices }, stdio: ['ignore', 'ignore', 'pipe'], // stderr in the error
      });
    train();
    const files = fs.readdirSync(choices);
    expect(files).to.have.length(1);
    expect(JSON.parse(fs.readFileSync(path.join(choices, files[0]), 'utf8')).choices.length).to.be.above(3);
    train();
    const runs = fs.readdirSync(path.join(out, 'micro')).map((d) => path.join(out, 'micro', d));
    expect(runs).to.have.length(2);
    expect(deterministicColumns(runs[1])).to.deep.equal(deterministicColumns(runs[0]));
    expect(readSummary(runs[1])!.test).to.deep.equal(readSummary(runs[0])!.test);
  });

  it('a NaN loss stops the run as diverged, naming epoch, batch and learning rate, and keeps the last checkpoint', async () => {
    const out = tmp();
    // After epoch 1, poison the classifier's kernel as an exploding update would: the next batch's loss is NaN.
    const poison = {
      onEpochEnd: (l: { epoch: number }) => {
        if (l.epoch !== 1) return;
        for (const v of Object.values(tf.engine().registeredVariables)) {
          if (v.name.startsWith('logits') && v.name.includes('kernel')) v.assign(tf.fill(v.shape, NaN));
        }
      },
    };
    let err: unknown;
    try {
      await runTraining(microConfig(out, ['train.epochs=3']), { ...quiet, callbacks: [poison] });
    } catch (e) {
      err = e;
    }
    expect(err).to.be.instanceOf(DivergedError);
    const msg = (err as Error).message;
    expect(msg).to.match(/at epoch 2, batch 1 \(learning rate 0\.0375\d*\)/);
    const runDir = path.join(out, 'micro', fs.readdirSync(path.join(out, 'micro'))[0]);
    const s = readSummary(runDir);
    expect(s?.status).to.equal('diverged');
    expect(s?.error).to.equal(msg);
    // The checkpoint of epoch 1 (written before the poison) is intact: resuming would start at epoch 2.
    const st = JSON.parse(fs.readFileSync(path.join(runDir, 'checkpoint', 'state.json'), 'utf8')) as { epoch: number; batch: number };
    expect([st.epoch, st.batch]).to.deep.equal([1, 0]);
  });

  it('tensor count stays flat over a 20-epoch run (RSS reported)', async () => {
    const counts: number[] = [];
    const rss: number[] = [];
    await runTraining(microConfig(tmp(), ['train.epochs=20']), {
      ...quiet,
      callbacks: [{ onEpochEnd: () => void (counts.push(tf.memory().numTensors), rss.push(process.memoryUsage().rss)) }],
    });
    expect(counts).to.have.length(20);
    expect(new Set(counts.slice(1)).size, `tensor counts per epoch: ${counts.join(' ')}`).to.equal(1);
    const mb = (x: number) => (x / 2 ** 20).toFixed(1);
    console.log(`      RSS over 20 epochs: ${mb(rss[0])} MB -> ${mb(rss[19])} MB`);
  });

  it('refuses an unwritable output folder before any training', async () => {
    const out = tmp();
    fs.writeFileSync(path.join(out, 'micro'), 'a file where the experiment folder should be');
    let err: unknown;
    const t0 = Date.now();
    try {
      await runTraining(microConfig(out), quiet);
    } catch (e) {
      err = e;
    }
    expect(err).to.be.instanceOf(UserError);
    expect((err as Error).message).to.contain('not writable');
    expect(Date.now() - t0).to.be.lessThan(5000);
  });

  it('rejects experiment names that would escape the output folder, and absurd sizes', () => {
    for (const bad of ['experiment=../../etc', 'experiment=a/b', 'train.batchSize=1000000', 'data.synthetic.imageSize=100000', 'data.synthetic.trainSize=-5']) {
      expect(() => microConfig(tmp(), [bad]), bad).to.throw(UserError, bad.split('=')[0]);
    }
  });

  it('two runs started at once get distinct folders', async () => {
    const out = tmp();
    const [a, b] = await Promise.all([runTraining(microConfig(out, ['train.epochs=1']), quiet), runTraining(microConfig(out, ['train.epochs=1']), quiet)]);
    expect(a.runDir).to.not.equal(b.runDir);
  });
});
