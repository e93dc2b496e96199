// The run folder's lock through `train`: two `train --resume` of one folder cannot both train. (A lock left by a trainer
// killed on this machine is taken over at once: resume.test.ts resumes right after a SIGKILL.)
import { expect } from 'chai';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { lockDir } from '../../src/run/lock.js';
import { cliProcess, interruptedRun, readSummaryOf } from '../cli/helpers.js';
import { microConfig } from './helpers.js';

describe('run folder lock', function () {
  this.timeout(180_000);
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'gaplab-lock-'));
  after(() => fs.rmSync(root, { recursive: true, force: true }));
  before(async () => {
    await tf.setBackend('cpu');
  });

  it('two `train --resume` of one folder at once: one trains, the other exits 2 naming the folder; each epoch once', async () => {
    const { runDir } = await interruptedRun(microConfig(path.join(root, 'twice'), ['train.epochs=4'])); // 3 epochs to go

    const first = cliProcess('train', ['--resume', runDir, '--progress', 'false']);
    try {
      await first.waitFor(/^resuming at /m); // it holds the lock
      first.child.kill('SIGSTOP'); // and keeps it while the second starts
      const second = cliProcess('train', ['--resume', runDir, '--progress', 'false']);
      const { code } = await second.exited;
      expect(code, second.stderr).to.equal(2);
      expect(second.errLines()).to.deep.equal([
        `train: error: ${runDir}: already being trained by process ${first.child.pid} (lock ${lockDir(runDir)}); ` +
          'wait for it to end or stop it first',
      ]);
    } finally {
      first.child.kill('SIGCONT');
    }
    expect((await first.exited).code, first.stderr).to.equal(0);
    const epochs = fs.readFileSync(path.join(runDir, 'metrics.csv'), 'utf8').trim().split('\n').slice(1).map((l) => l.split(',')[0]);
    expect(epochs).to.deep.equal(['1', '2', '3', '4']);
    expect(readSummaryOf(runDir).status).to.equal('completed');
    expect(fs.existsSync(lockDir(runDir))).to.equal(false);
  });
});
