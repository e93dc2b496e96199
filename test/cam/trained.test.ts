// Slow: trains a quick ResNet + GAP + dense model on the built-in data; its CAMs must beat the best central box.
import { expect } from 'chai';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DEFAULT_THRESHOLD } from '../../src/cam/boxes.js';
import { camReport } from '../../src/cam/report.js';
import { loadConfig } from '../../src/config/load.js';
import { runTraining } from '../../src/train/run.js';
import { needsNative } from '../requires.js';

/**
 * quick-resnet-gap-dense as configured (ResNet-8, GAP, dense: the structure the CAM paper scores; 4000 images, half
 * the clutter, batch 32, 12 epochs): under 2 minutes on the native backend and far longer on the pure-JS cpu backend,
 * so without the native backend the test is skipped. Measured for seeds 1 / 2 / 3 (docs/cam.md): CAM true-class
 * localization 51.3 / 44.4 / 38.1% against the best central box's 32.8 / 31.0 / 31.0%; top-1 47.5 / 40.3 / 34.4%
 * against 31.2 / 28.3 / 29.0%. (At batch 64 a 3000-image, 10-epoch budget left seed 2 within a point of the baseline,
 * so the test pays for the full quick budget.)
 */
const SETS = ['backend=native', 'seed=1'];

describe('cam: a trained quick GAP model (slow)', function () {
  this.timeout(900_000);
  let dir: string;

  before(function () {
    needsNative(this); // training on the pure-JS cpu backend takes > 10 minutes
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gaplab-camtrain-'));
  });
  after(() => dir && fs.rmSync(dir, { recursive: true, force: true }));

  it("localizes better than the best central box at the paper's 20% threshold, top-1 and true class", async () => {
    const { config } = loadConfig('quick-resnet-gap-dense', [...SETS, `outputDir=${dir}`]);
    const summary = await runTraining(config, { log: () => {}, warn: () => {}, live: false });
    expect(summary.status).to.equal('completed');
    const report = await camReport(summary.runDir, { images: 4, localization: true, method: 'cam' });
    const loc = report.localization!;
    const s = loc.methods.cam!;
    process.stderr.write(
      `    test acc ${s.classification.toFixed(3)}; CAM localization true class ${s.trueClass.accuracy.toFixed(3)}, ` +
        `top-1 ${s.top1.accuracy.toFixed(3)}; best central box (${s.baseline.best.fraction}) ` +
        `${s.baseline.best.trueClass.accuracy.toFixed(3)}, top-1 ${s.baseline.best.top1.accuracy.toFixed(3)}\n`,
    );
    expect(loc.protocol.threshold).to.equal(DEFAULT_THRESHOLD).and.to.equal(0.2);
    expect(s.images).to.equal(1000);
    expect(s.classification).to.be.above(1 / 3); // learned something (chance: 1/6)
    expect(s.trueClass.accuracy).to.be.above(s.baseline.best.trueClass.accuracy);
    expect(s.top1.accuracy).to.be.above(s.baseline.best.top1.accuracy);
  });
});
