// Full-size CIFAR-10 (50,000 + 10,000 generated images): the loader, the native ZCA fit on all 50,000, and its cache.
import { expect } from 'chai';
import { readCifar } from '../../src/data/cifar.js';
import { writeCifar10 } from '../../src/data/cifar-writer.js';
import { fitPreprocessor } from '../../src/data/preprocess.js';
import { removeDir, tempDir } from './helpers.js';
import { needsNativeZca } from './native-zca.js';

/** Whitening matrix of a fitted gcn-zca preprocessor, from its JSON form (the d x d float32 values). */
function whiteningOf(pre: { toJSON(): object }): Float32Array {
  const bytes = Buffer.from((pre.toJSON() as { whitening: string }).whitening, 'base64');
  return new Float32Array(bytes.buffer, bytes.byteOffset, bytes.length / 4);
}

describe('full-size CIFAR-10: loader and native ZCA fit on 50,000 generated images', function () {
  this.timeout(180_000);
  let dir: string;
  before(function () {
    needsNativeZca(this);
    dir = tempDir('gaplab-cifar-full-');
    writeCifar10(dir, { train: 50_000, test: 10_000, seed: 11 });
  });
  after(() => removeDir(dir));

  it('reads all 60,000 images and fits GCN + ZCA on all 50,000 training images, then reuses the cached fit', () => {
    const { classNames, train, test } = readCifar(dir, 'cifar10', 'fine');
    expect([train.n, test.n, classNames.length]).to.deep.equal([50_000, 10_000, 10]);
    expect(train.images.length).to.equal(50_000 * 3072);
    // Random labels: each class holds about a tenth.
    const counts = new Array<number>(10).fill(0);
    for (const l of train.labels) counts[l]++;
    for (const c of counts) expect(c).to.be.within(4_500, 5_500);

    const lines: string[] = [];
    const cacheDir = `${dir}/.cache`;
    const pre = fitPreprocessor('gcn-zca', train, { cacheDir, log: (l) => lines.push(l) });
    expect(lines.find((l) => l.startsWith('gcn-zca: fitting'))).to.contain('on 50000 images of 3072 values').and.contain('LAPACK dsyevd');
    const w = whiteningOf(pre);
    const d = 3072;
    // GCN leaves every image with pixel mean 0, so the all-ones direction has no variance: W maps it to itself times
    // 1/sqrt(0 + filterBias) (each row of W sums to 3.1623). The float32 covariance sums must leave that eigenvalue
    // near 0: 1e-3 relative allows lambda up to 2e-4, against entries of ~3,000 summed over 50,000 images.
    for (let i = 0; i < d; i += 97) {
      let row = 0;
      for (let j = 0; j < d; j++) row += w[i * d + j];
      expect(row, `row ${i} of W times the ones vector`).to.be.closeTo(1 / Math.sqrt(0.1), 3.2e-3);
    }
    for (let i = 0; i < d; i += 101) for (let j = 0; j < d; j += 89) expect(w[i * d + j]).to.be.closeTo(w[j * d + i], 1e-6);
    // Whitened training images (through the per-batch sgemm) have unit variance in every other direction: averaged
    // over the coordinates, the variance of 2,000 of them is 1 - 1/d (the ones direction carries none) within 2%.
    const n = 2_000;
    const z = pre.toFloat(train.images.subarray(0, n * d), n, 32, 32, 3);
    let variance = 0;
    for (let j = 0; j < d; j++) {
      let s = 0, ss = 0;
      for (let r = 0; r < n; r++) {
        s += z[r * d + j];
        ss += z[r * d + j] ** 2;
      }
      variance += (ss - (s * s) / n) / (n - 1) / d;
    }
    expect(variance).to.be.closeTo(1 - 1 / d, 0.02);

    const again: string[] = [];
    const cached = fitPreprocessor('gcn-zca', train, { cacheDir, log: (l) => again.push(l) });
    expect(again.some((l) => l.startsWith('gcn-zca: reusing whitening matrix'))).to.equal(true);
    const bytes = (a: Float32Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);
    expect(bytes(whiteningOf(cached)).equals(bytes(w))).to.equal(true);
  });
});
