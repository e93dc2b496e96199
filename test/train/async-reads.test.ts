// Training, evaluation, checkpoints, the test pass and CAM read tensors only asynchronously (webgpu in Node has no
// synchronous read): checked on the cpu backend with Tensor.dataSync and arraySync made to throw.
import * as tf from '@tensorflow/tfjs';
import { expect } from 'chai';
import fs from 'node:fs';
import path from 'node:path';
import { PNG } from 'pngjs';

import { camReport } from '../../src/cam/report.js';
import { runTraining } from '../../src/train/run.js';
import { removeDir, tempDir } from '../data/helpers.js';
import { microConfig } from './helpers.js';

const SYNC_READS = ['dataSync', 'arraySync'] as const;

/** Makes every synchronous read throw, naming itself; returns the function that restores them. */
function forbidSyncReads(): () => void {
  const proto = tf.Tensor.prototype as unknown as Record<string, unknown>;
  const saved = SYNC_READS.map((k) => [k, proto[k]] as const);
  for (const k of SYNC_READS) {
    proto[k] = () => {
      throw new Error(`Tensor.${k}() called: reads must be asynchronous (await t.data())`);
    };
  }
  return () => saved.forEach(([k, f]) => (proto[k] = f));
}

describe('asynchronous reads only (cpu backend, synchronous reads made to throw)', function () {
  this.timeout(60_000);
  let dir: string;
  let restore: (() => void) | undefined;

  before(async () => {
    await tf.setBackend('cpu');
    dir = tempDir('gaplab-async-reads-');
  });
  afterEach(() => restore?.());
  after(() => removeDir(dir));

  it('the guard works: a synchronous read throws while it is on', () => {
    restore = forbidSyncReads();
    const t = tf.scalar(1);
    expect(() => t.dataSync()).to.throw(/Tensor\.dataSync\(\) called/);
    restore();
    expect(t.dataSync()[0]).to.equal(1);
    t.dispose();
  });

  it('a run (batches, epoch-end evaluations, checkpoints, test pass, saved models) and CAM of test images and a file', async () => {
    restore = forbidSyncReads();
    const cfg = microConfig(dir, ['train.checkpointMinutes=0']);
    const s = await runTraining(cfg, { log: () => {}, warn: () => {}, live: false });
    expect(s.status).to.equal('completed');
    expect(s.epochsRun).to.equal(2);
    const png = new PNG({ width: 5, height: 3 });
    png.data.fill(200);
    const file = path.join(dir, 'photo.png');
    fs.writeFileSync(file, PNG.sync.write(png));
    expect((await camReport(s.runDir, { images: 3 })).images).to.have.length(3);
    expect((await camReport(s.runDir, { imageFile: file, outDir: path.join(dir, 'cam-file') })).images).to.have.length(1);
  });
});
