// Training learns without the native backend: runTraining on the pure-JS cpu backend, a tiny CNN, an easy generated task.
import { expect } from 'chai';
import * as tf from '@tensorflow/tfjs';
import { runTraining } from '../../src/train/run.js';
import { removeDir, tempDir } from '../data/helpers.js';
import { quadrantConfig, writeQuadrantFolder } from './helpers.js';

describe('training learns on the cpu backend (tiny CNN, quadrant task)', function () {
  this.timeout(60_000);
  let dir: string;

  before(async () => {
    await tf.setBackend('cpu');
    dir = tempDir('gaplab-cpu-learns-');
    writeQuadrantFolder(dir, 300, 100);
  });
  after(() => removeDir(dir));

  // Each seed takes about 5 s; all three are checked because one lucky seed would not show that training learns.
  for (const seed of [1, 2, 3]) {
    it(`seed ${seed}: validation accuracy rises from near chance (1/4) to >= 0.9, train loss falls`, async () => {
      const cfg = quadrantConfig(dir, seed, ['experiment=cpu-learns', 'backend=cpu']);
      const history: Array<{ val_acc: number; train_loss: number }> = [];
      const s = await runTraining(cfg, {
        log: () => {},
        warn: () => {},
        live: false,
        callbacks: [{ onEpochEnd: (l) => void history.push(l) }],
      });
      expect(s.status).to.equal('completed');
      expect(s.backend?.name).to.equal('cpu');
      // The loader names MNIST's 10 classes; the task uses 4 of them, balanced, so chance is 1/4.
      expect(s.dataset).to.deep.include({ train: 200, val: 100, test: 100 });
      expect(history).to.have.length(10);
      expect(history[0].val_acc, 'after one epoch it is still far from solved').to.be.lessThan(0.6);
      expect(history.at(-1)!.val_acc).to.be.at.least(0.9);
      expect(s.test?.final.acc).to.be.at.least(0.9);
      expect(history.at(-1)!.train_loss).to.be.lessThan(0.3 * history[0].train_loss);
    });
  }
});
