// The ZCA cache is used only when intact and made for this fit; a damaged one is refitted with one line; an unwritable one never loses the fit.
import { expect } from 'chai';
import fs from 'node:fs';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { applyOverrides } from '../../src/config/load.js';
import { fitPreprocessor } from '../../src/data/preprocess.js';
import { saveZcaCache, zcaFit } from '../../src/data/zca-cache.js';
import { DEFAULT_GCN_ZCA } from '../../src/data/zca.js';
import type { ImageSet } from '../../src/data/types.js';
import { runTraining } from '../../src/train/run.js';
import { Rng } from '../../src/util/rng.js';
import { microConfig } from '../train/helpers.js';
import { removeDir, tempDir } from './helpers.js';

/** n random 4x4x3 images (d = 48): a ZCA fit of milliseconds. */
function randomSet(n: number, seed: string): ImageSet {
  const rng = new Rng(seed);
  return { images: Uint8Array.from({ length: n * 48 }, () => rng.int(256)), labels: new Int32Array(n), n, height: 4, width: 4, channels: 3 };
}

const zcaFiles = (dir: string) => fs.readdirSync(dir).filter((f) => /^zca-.*\.bin$/.test(f)).map((f) => path.join(dir, f));

describe('ZCA cache integrity', function () {
  this.timeout(60_000);
  const train = randomSet(24, 'zca-cache');
  let dir: string;
  let expected: number[];
  let cacheFile: string;

  beforeEach(() => {
    dir = tempDir('gaplab-zca-');
    expected = Array.from(fitPreprocessor('gcn-zca', train).toFloat(train.images, train.n, 4, 4, 3));
    fitPreprocessor('gcn-zca', train, { cacheDir: dir });
    [cacheFile] = zcaFiles(dir);
  });
  afterEach(() => removeDir(dir));

  /** Fits again with the cache; returns its output on the training images and the warning lines. */
  function refit(cacheDir = dir): { out: number[]; warnings: string[]; lines: string[] } {
    const warnings: string[] = [];
    const lines: string[] = [];
    const p = fitPreprocessor('gcn-zca', train, { cacheDir, log: (l) => lines.push(l), warn: (l) => warnings.push(l) });
    return { out: Array.from(p.toFloat(train.images, train.n, 4, 4, 3)), warnings, lines };
  }

  it('an intact cache is reused silently and gives the fitted values', () => {
    expect(zcaFiles(dir)).to.have.length(1);
    const r = refit();
    expect(r.warnings).to.deep.equal([]);
    expect(r.lines.some((l) => l.includes(`reusing whitening matrix ${cacheFile}`))).to.equal(true);
    expect(r.out).to.deep.equal(expected);
  });

  const damages: Array<[string, (bytes: Buffer) => Buffer, RegExp]> = [
    ['overwritten with zeros of the same size', (b) => Buffer.alloc(b.length), /not a gaplab ZCA cache/],
    ['filled with NaN (same size)', (b) => Buffer.from(new Float32Array(b.length / 4).fill(NaN).buffer), /not a gaplab ZCA cache/],
    ['its values zeroed behind an intact header', (b) => Buffer.concat([b.subarray(0, b.length - 48 * 49 * 4), Buffer.alloc(48 * 49 * 4)]), /fails its checksum/],
    ['its values NaN behind an intact header', (b) => Buffer.concat([b.subarray(0, b.length - 48 * 49 * 4), Buffer.from(new Float32Array(48 * 49).fill(NaN).buffer)]), /fails its checksum/],
    ['cut short', (b) => b.subarray(0, b.length - 100), /holds \d+ bytes of values; a 48-value fit needs 9408/],
    ['an empty file', () => Buffer.alloc(0), /not a gaplab ZCA cache/],
  ];
  for (const [what, damage, reason] of damages) {
    it(`a cache ${what} is refitted with one line saying so, and replaced`, () => {
      fs.writeFileSync(cacheFile, damage(fs.readFileSync(cacheFile)));
      const r = refit();
      expect(r.warnings).to.have.length(1);
      expect(r.warnings[0]).to.contain(`gcn-zca: the cached whitening matrix ${cacheFile}`).and.contain('fitting it again');
      expect(r.warnings[0]).to.match(reason);
      expect(r.out).to.deep.equal(expected);
      // Replaced by a good one: the next fit reuses it without a word.
      const again = refit();
      expect(again.warnings).to.deep.equal([]);
      expect(again.lines.some((l) => l.includes('reusing'))).to.equal(true);
    });
  }

  it('a cache made for other images, copied under this fit\'s name, is refitted (the header names the fit)', () => {
    const otherDir = tempDir('gaplab-zca-other-');
    try {
      fitPreprocessor('gcn-zca', randomSet(24, 'other images'), { cacheDir: otherDir });
      fs.copyFileSync(zcaFiles(otherDir)[0], cacheFile);
      const r = refit();
      expect(r.warnings).to.have.length(1);
      expect(r.warnings[0]).to.contain(cacheFile).and.contain('was fitted on other images or constants');
      expect(r.out).to.deep.equal(expected);
    } finally {
      removeDir(otherDir);
    }
  });

  it('other GCN/ZCA constants use another file, not this one', () => {
    const p = fitPreprocessor('gcn-zca', train, { cacheDir: dir, params: { filterBias: 1 } });
    expect(zcaFiles(dir)).to.have.length(2);
    expect(Array.from(p.toFloat(train.images, train.n, 4, 4, 3))).not.to.deep.equal(expected);
  });

  it('a cache folder that is a regular file: one line naming it, and the fit is kept', () => {
    const asFile = path.join(dir, '.cache');
    fs.writeFileSync(asFile, 'not a folder');
    const r = refit(asFile);
    expect(r.warnings).to.have.length(1);
    expect(r.warnings[0]).to.equal(`gcn-zca: cannot write the ZCA cache in ${asFile} (ENOTDIR); fitting without saving it`);
    expect(r.out).to.deep.equal(expected);
    expect(fs.readFileSync(asFile, 'utf8')).to.equal('not a folder');
  });

  it('saving into a folder that cannot hold it reports why instead of throwing (the fit is not lost)', () => {
    const asFile = path.join(dir, 'file');
    fs.writeFileSync(asFile, '');
    const fit = zcaFit(train, [0, 1], DEFAULT_GCN_ZCA);
    const saved = saveZcaCache(asFile, fit, new Float32Array(48), new Float32Array(48 * 48));
    expect(saved.file.startsWith(asFile)).to.equal(true);
    expect(saved.error).to.match(/ENOTDIR/);
  });
});

describe('ZCA cache in a training run (gcn-zca on tiny data)', function () {
  this.timeout(120_000);

  before(async () => {
    await tf.setBackend('cpu');
  });

  /** microConfig with gcn-zca, its dataset folder (the cache's home) at `dataDir`. */
  const config = (out: string, dataDir: string) =>
    microConfig(out, ['data.preprocessing=gcn-zca', `data.dir=${dataDir}`, 'train.epochs=1']);
  const quiet = (lines: string[]) => ({ log: (l: string) => lines.push(l), warn: (l: string) => lines.push(l), live: false });

  it('a zeroed cache is refitted: the run trains exactly as with a fresh fit, not on all-zero inputs', async () => {
    const root = tempDir('gaplab-zca-run-');
    try {
      const dataDir = path.join(root, 'data');
      fs.mkdirSync(dataDir);
      const first = await runTraining(config(root, dataDir), quiet([]));
      const [cache] = zcaFiles(path.join(dataDir, '.cache'));
      fs.writeFileSync(cache, Buffer.alloc(fs.statSync(cache).size));
      const lines: string[] = [];
      const second = await runTraining(config(root, dataDir), quiet(lines));
      expect(lines.filter((l) => l.includes(`the cached whitening matrix ${cache}`))).to.have.length(1);
      expect(second.status).to.equal('completed');
      expect(second.final?.train_loss).to.equal(first.final?.train_loss);
      expect(second.final?.val_acc).to.equal(first.final?.val_acc);
    } finally {
      removeDir(root);
    }
  });

  it('<data.dir>/.cache being a file: one line naming it, and the run completes', async () => {
    const root = tempDir('gaplab-zca-run-');
    try {
      const dataDir = path.join(root, 'data');
      fs.mkdirSync(dataDir);
      fs.writeFileSync(path.join(dataDir, '.cache'), '');
      const lines: string[] = [];
      const s = await runTraining(config(root, dataDir), quiet(lines));
      expect(s.status).to.equal('completed');
      expect(lines.filter((l) => l.includes(`cannot write the ZCA cache in ${path.join(dataDir, '.cache')}`))).to.have.length(1);
    } finally {
      removeDir(root);
    }
  });
});
