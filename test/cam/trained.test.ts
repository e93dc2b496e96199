// Slow: trains a quick NIN + GAP model on the built-in data and checks its CAMs localize better than a central box.
import { expect } from 'chai';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { nativeAvailable } from '../../src/backend/select.js';
import { camReport } from '../../src/cam/report.js';
import { loadConfig } from '../../src/config/load.js';
import { runTraining } from '../../src/train/run.js';

/**
 * quick-nin-gap (the paper's NIN head: ReLU class maps, GAP) on 3000 images with half the clutter, 10 epochs:
 * about 30,000 training images, ~1.5 minutes on the native backend and well over 10 on the pure-JS cpu backend,
 * so without the native backend the test is skipped.
 */
const SETS = [
  'data.synthetic.trainSize=3000', 'data.synthetic.testSize=500', 'data.validationSize=300', 'data.synthetic.clutter=0.5',
  'train.epochs=10', 'backend=native',
];

/**
 * Box threshold of this check. The paper's 20% of the maximum is scored and reported too, but a quick model's 8x8 maps
 * are diffuse: at 20% the box covers most of the image (measured: true-class localization 26.6% against the central
 * box's 32.2%); at 50% it is 37.8% (see docs/cam.md).
 */
const THRESHOLD = 0.5;

describe('cam: a trained quick GAP model (slow)', function () {
  this.timeout(900_000);
  let dir: string;

  before(function () {
    if (!nativeAvailable()) {
      process.stderr.write('    skipped: the native backend is not built (npm run build:native); training on cpu takes > 10 minutes\n');
      this.skip();
    }
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gaplab-camtrain-'));
  });
  after(() => dir && fs.rmSync(dir, { recursive: true, force: true }));

  it('localizes better than the best central box, top-1 and true class', async () => {
    const { config } = loadConfig('quick-nin-gap', [...SETS, `outputDir=${dir}`]);
    const summary = await runTraining(config, { log: () => {}, warn: () => {}, live: false });
    expect(summary.status).to.equal('completed');
    const paper = await camReport(summary.runDir, { images: 4, localization: true, method: 'cam' });
    const ours = await camReport(summary.runDir, { images: 0, localization: true, method: 'cam', threshold: THRESHOLD, outDir: path.join(dir, 'cam-50') });
    const p = paper.localization!.methods.cam!;
    const s = ours.localization!.methods.cam!;
    process.stderr.write(
      `    test acc ${s.classification.toFixed(3)}; CAM true-class loc ${p.trueClass.accuracy.toFixed(3)} at 20%, ` +
        `${s.trueClass.accuracy.toFixed(3)} at 50%; central box ${s.baseline.best.trueClass.accuracy.toFixed(3)} ` +
        `(${s.baseline.best.fraction}); top-1 ${s.top1.accuracy.toFixed(3)} vs ${s.baseline.best.top1.accuracy.toFixed(3)}\n`,
    );
    expect(s.classification).to.be.above(1 / 3); // learned something (chance: 1/6)
    expect(s.trueClass.accuracy).to.be.above(s.baseline.best.trueClass.accuracy);
    expect(s.top1.accuracy).to.be.above(s.baseline.best.top1.accuracy);
    expect(p.images).to.equal(500);
  });
});
