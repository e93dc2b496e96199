// Training learns on the webgpu backend (Mesa's llvmpipe in CI): runTraining, the quadrant task, then CAM from the run.
import * as tf from '@tensorflow/tfjs';
import { expect } from 'chai';
import fs from 'node:fs';

import { camReport } from '../../src/cam/report.js';
import { fitPreprocessor } from '../../src/data/preprocess.js';
import { runTraining } from '../../src/train/run.js';
import { needsWebgpu } from '../backend/webgpu-helpers.js';
import { Rng } from '../../src/util/rng.js';
import { removeDir, tempDir } from '../data/helpers.js';
import { quadrantConfig, writeQuadrantFolder } from './helpers.js';

describe('training learns on the webgpu backend (tiny CNN, quadrant task)', function () {
  this.timeout(120_000);
  let dir: string;

  before(async function () {
    await needsWebgpu(this);
    dir = tempDir('gaplab-webgpu-learns-');
    writeQuadrantFolder(dir, 300, 100);
  });
  after(async () => {
    if (dir) removeDir(dir);
    await tf.setBackend('cpu');
  });

  it('gcn-zca preprocessing under webgpu gives the values it gives under cpu (batches are whitened on the host)', async () => {
    const rng = new Rng(4);
    const n = 20, d = 4 * 4 * 3;
    const train = { images: Uint8Array.from({ length: n * d }, () => rng.int(256)), labels: new Int32Array(n), n, height: 4, width: 4, channels: 3 };
    const pre = fitPreprocessor('gcn-zca', train);
    await tf.setBackend('cpu');
    const onCpu = pre.toFloat(train.images, n, 4, 4, 3);
    await tf.setBackend('webgpu');
    expect(Array.from(pre.toFloat(train.images, n, 4, 4, 3))).to.deep.equal(Array.from(onCpu));
  });

  it('validation accuracy rises from near chance (1/4) to >= 0.9; the adapter is printed first and recorded; CAM renders', async () => {
    const lines: string[] = [];
    const history: Array<{ val_acc: number; train_loss: number }> = [];
    const s = await runTraining(quadrantConfig(dir, 1, ['experiment=webgpu-learns', 'backend=webgpu']), {
      log: (l) => lines.push(l),
      warn: (l) => lines.push(l),
      live: false,
      callbacks: [{ onEpochEnd: (l) => void history.push(l) }],
    });
    expect(s.status).to.equal('completed');
    expect(s.backend?.name).to.equal('webgpu');
    const adapter = s.backend!.adapter!;
    expect(adapter.device, 'summary.json names the adapter').to.not.equal('');
    const backendLine = lines.findIndex((l) => l.startsWith('backend: webgpu (Dawn on '));
    expect(backendLine, 'the backend line is among the first lines').to.be.within(0, 3);
    expect(lines[backendLine]).to.include(adapter.device).and.include(adapter.description).and.include(adapter.api);
    expect(history).to.have.length(10);
    expect(history[0]!.val_acc, 'after one epoch it is still far from solved').to.be.lessThan(0.6);
    expect(history.at(-1)!.val_acc).to.be.at.least(0.9);
    expect(s.test?.final.acc).to.be.at.least(0.9);
    expect(history.at(-1)!.train_loss).to.be.lessThan(0.3 * history[0]!.train_loss);

    // Grad-CAM (the fc head) of the saved model on webgpu: its reads are asynchronous too.
    const report = await camReport(s.runDir, { images: 4 });
    expect(report.images).to.have.length(4);
    expect(fs.existsSync(report.gridPng!)).to.equal(true);
  });
});
