// camReport end to end on hand-written run folders: PNG sizes, CSV rows, localization.json, image files, clear errors.
import { expect } from 'chai';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import jpeg from 'jpeg-js';
import { PNG } from 'pngjs';
import { camReport } from '../../src/cam/report.js';
import { UserError } from '../../src/errors.js';
import { fixtureConfig, writeRunFolder } from './fixture.js';

function pngSize(file: string): [number, number] {
  const png = PNG.sync.read(fs.readFileSync(file));
  return [png.width, png.height];
}

/** A w x h RGB test picture: a bright square on a dark background. */
function picture(w: number, h: number): Buffer {
  const data = Buffer.alloc(w * h * 4);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const inside = x > w / 4 && x < (3 * w) / 4 && y > h / 4 && y < (3 * h) / 4;
      data.set(inside ? [230, 200, 40, 255] : [20, 30, 60, 255], (y * w + x) * 4);
    }
  }
  return data;
}

async function rejects(p: Promise<unknown>, pattern: RegExp): Promise<void> {
  try {
    await p;
  } catch (e) {
    expect(e).to.be.instanceOf(UserError);
    expect((e as Error).message).to.match(pattern);
    return;
  }
  expect.fail(`expected a UserError matching ${pattern}`);
}

describe('cam/report', function () {
  this.timeout(60_000);
  let root: string;
  let gapRun: string;
  let fcRun: string;

  before(async () => {
    await tf.setBackend('cpu');
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'gaplab-cam-'));
    gapRun = await writeRunFolder(path.join(root, 'gap'), fixtureConfig('nin', 'gap'), { best: true });
    fcRun = await writeRunFolder(path.join(root, 'fc'), fixtureConfig('cnn', 'fc'));
  });
  after(() => fs.rmSync(root, { recursive: true, force: true }));

  it('writes one PNG per test image, a grid and a CSV, at the expected sizes, leaking no tensors', async () => {
    const before = tf.memory().numTensors;
    const r = await camReport(gapRun, { images: 5 });
    expect(tf.memory().numTensors).to.equal(before);
    expect(r.method).to.equal('cam');
    expect(r.outDir).to.equal(path.join(gapRun, 'cam'));
    expect(r.images).to.have.length(5);
    // Per image at x8: three 256-pixel panels + 4-pixel gaps; title of two 20-pixel lines.
    for (const img of r.images) expect(pngSize(img.png)).to.deep.equal([3 * 256 + 16, 4 + 40 + 256 + 8]);
    // Grid at x4 (half), 4 columns of 400 x 160 cells with 1-pixel rules: 2 rows.
    expect(pngSize(r.gridPng!)).to.deep.equal([4 * 400 + 3, 2 * 160 + 1]);
    const lines = fs.readFileSync(r.csv!, 'utf8').trim().split('\n');
    expect(lines).to.have.length(6);
    expect(lines[0].split(',').slice(0, 6)).to.deep.equal(['index', 'source', 'true', 'predicted', 'probability', 'correct']);
    for (const img of r.images) {
      expect(img.truthBox).to.have.length(4);
      expect(img.iou).to.be.within(0, 1);
      expect(img.trueClass).to.be.a('string');
    }
  });

  it('scores localization with CAM and Grad-CAM beside the central-box baseline', async () => {
    const r = await camReport(gapRun, { images: 0, localization: true, weights: 'best' });
    expect(r.gridPng).to.equal(undefined);
    const file = JSON.parse(fs.readFileSync(r.localizationJson!, 'utf8'));
    expect(file.weights).to.equal('best');
    expect(file.dataset).to.deep.equal({ name: 'synthetic', images: 12, imageShape: [32, 32, 3] });
    expect(Object.keys(file.methods).sort()).to.deep.equal(['cam', 'gradcam']);
    for (const m of ['cam', 'gradcam']) {
      const s = file.methods[m];
      expect(s.images).to.equal(12);
      for (const v of [s.top1.accuracy, s.trueClass.accuracy, s.trueClass.meanIou, s.classification]) expect(v).to.be.within(0, 1);
      expect(s.top1.accuracy).to.be.at.most(s.classification);
      expect(s.baseline.fixed.fraction).to.equal(0.5);
      const csv = fs.readFileSync(path.join(r.outDir, `localization-${m}.csv`), 'utf8').trim().split('\n');
      expect(csv).to.have.length(13);
      // The fixed baseline again from the CSV's truth boxes: the central box [8, 8, 24, 24] (area 256) of 32x32 images.
      const col = (name: string) => csv[0].split(',').indexOf(name);
      const ious = csv.slice(1).map((line) => {
        const [x0, y0, x1, y1] = ['x0', 'y0', 'x1', 'y1'].map((k) => Number(line.split(',')[col(`truth_${k}`)]));
        const inter = Math.max(0, Math.min(x1, 24) - Math.max(x0, 8)) * Math.max(0, Math.min(y1, 24) - Math.max(y0, 8));
        return inter / ((x1 - x0) * (y1 - y0) + 256 - inter);
      });
      expect(s.baseline.fixed.trueClass.meanIou).to.be.closeTo(ious.reduce((a, b) => a + b, 0) / 12, 1e-12);
      expect(s.baseline.fixed.trueClass.accuracy).to.equal(ious.filter((v) => v >= 0.5).length / 12);
      // The sweep's 20% point is the protocol's score, computed again box by box; its best is the highest point.
      const at20 = s.sweep.points.find((p: { threshold: number }) => p.threshold === 0.2);
      expect(at20.trueClass).to.deep.equal(s.trueClass);
      expect(at20.top1).to.deep.equal(s.top1);
      expect(s.sweep.best.trueClass.accuracy).to.equal(Math.max(...s.sweep.points.map((p: { trueClass: { accuracy: number } }) => p.trueClass.accuracy)));
      const sweepCsv = fs.readFileSync(path.join(r.outDir, `localization-${m}-sweep.csv`), 'utf8').trim().split('\n');
      expect(sweepCsv).to.have.length(20);
      expect(sweepCsv[0]).to.equal('threshold,top1_accuracy,top1_mean_iou,true_class_accuracy,true_class_mean_iou');
    }
    expect(file.protocol.threshold).to.equal(0.2);
    const other = await camReport(gapRun, { images: 0, localization: true, method: 'gradcam', threshold: 0.5 });
    expect(other.localization!.protocol.threshold).to.equal(0.5);
    const g = other.localization!.methods.gradcam!;
    expect(g.sweep!.points.find((p) => p.threshold === 0.5)!.trueClass).to.deep.equal(g.trueClass);
    expect(Object.keys(other.localization!.methods)).to.deep.equal(['gradcam']);
    await rejects(camReport(gapRun, { threshold: 1 }), /--threshold must be in \[0, 1\)/);
  });

  it('explains a PNG and a JPEG of any size, for a chosen class, with Grad-CAM on an fc head', async () => {
    const png = path.join(root, 'pic.png');
    const p = new PNG({ width: 50, height: 40 });
    p.data = picture(50, 40);
    fs.writeFileSync(png, PNG.sync.write(p));
    const jpg = path.join(root, 'pic.jpg');
    fs.writeFileSync(jpg, jpeg.encode({ data: picture(23, 31), width: 23, height: 31 }, 90).data);
    const out = path.join(root, 'out');
    const a = await camReport(fcRun, { imageFile: png, className: 'Square', outDir: out, scale: 4 });
    expect(a.method).to.equal('gradcam');
    expect(a.images).to.have.length(1);
    expect(a.images[0].shownClass).to.equal('square');
    expect(a.images[0].trueClass).to.equal(undefined);
    expect(a.images[0].source).to.equal(png);
    expect(pngSize(a.images[0].png)).to.deep.equal([3 * 128 + 16, 4 + 20 + 128 + 8]);
    expect(path.basename(a.gridPng!)).to.equal('file-pic-gradcam-grid.png');
    const b = await camReport(fcRun, { imageFile: jpg, outDir: out });
    expect(b.images[0].shownClass).to.equal(b.images[0].predicted);
  });

  it('gives clear errors: no model, missing folder, unknown class, unreadable image, CAM on an fc head', async () => {
    const noModel = await writeRunFolder(path.join(root, 'nomodel'), fixtureConfig('nin', 'gap'), { model: false });
    await rejects(camReport(noModel), /no final model \(model\/model.json is missing/);
    await rejects(camReport(fcRun, { weights: 'best' }), /no best model.*try --weights final/);
    await rejects(camReport(path.join(root, 'missing')), /run folder not found/);
    await rejects(camReport(gapRun, { className: 'hexagon' }), /unknown class 'hexagon'; this run's classes are: disc, square, triangle/);
    const text = path.join(root, 'notes.txt');
    fs.writeFileSync(text, 'not an image');
    await rejects(camReport(gapRun, { imageFile: text }), /notes.txt: not a PNG or JPEG/);
    const broken = path.join(root, 'broken.png');
    fs.writeFileSync(broken, Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), Buffer.alloc(20)]));
    await rejects(camReport(gapRun, { imageFile: broken }), /broken.png: cannot decode the image/);
    await rejects(camReport(gapRun, { imageFile: path.join(root, 'nope.png') }), /nope.png: cannot read the image \(ENOENT\)/);
    await rejects(camReport(fcRun, { method: 'cam' }), /CAM needs a global-average-pooling head.*--method gradcam/);
    await rejects(camReport(gapRun, { images: -1 }), /--images must be a whole number/);
  });

  it('refuses --localization for a run trained on data without boxes', async () => {
    const dir = path.join(root, 'cifar');
    await writeRunFolder(dir, fixtureConfig('nin', 'gap', ['data.name=cifar10']));
    await rejects(camReport(dir, { localization: true }), /only the built-in synthetic dataset has them.*cifar10/);
  });
});
