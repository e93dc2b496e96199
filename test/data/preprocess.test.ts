// Preprocessing against hand-computed numbers on 2x2 images; JSON round trips; ZCA fit cache.
import { expect } from 'chai';
import { fitPreprocessor, preprocessorFromJSON } from '../../src/data/preprocess.js';
import { gcn, DEFAULT_GCN_ZCA } from '../../src/data/zca.js';
import { UserError } from '../../src/errors.js';
import type { ImageSet } from '../../src/data/types.js';
import { removeDir, tempDir } from './helpers.js';

const set = (pixels: number[], n: number, h: number, w: number, c: number): ImageSet => ({
  images: Uint8Array.from(pixels),
  labels: new Int32Array(n),
  n,
  height: h,
  width: w,
  channels: c,
});

function expectClose(actual: ArrayLike<number>, expected: number[], tol = 1e-4): void {
  expect(actual.length).to.equal(expected.length);
  for (let i = 0; i < expected.length; i++) expect(actual[i]).to.be.closeTo(expected[i], tol, `index ${i}`);
}

describe('data/preprocess', () => {
  // One grey 2x2 image: mean 100, population variance (100^2 + 50^2 + 0 + 150^2) / 4 = 8750.
  const grey = set([0, 50, 100, 250], 1, 2, 2, 1);

  it('standardize: (x - 100) / sqrt(8750) per channel', () => {
    const p = fitPreprocessor('standardize', grey);
    const s = Math.sqrt(8750);
    expectClose(p.toFloat(grey.images, 1, 2, 2, 1), [-100 / s, -50 / s, 0, 150 / s]);
    expect(p.toJSON()).to.deep.equal({ kind: 'standardize', mean: [100], std: [s] });
  });

  it('standardize: statistics per channel over all images and pixels (2 images of 2x2x2)', () => {
    // Channel 0 takes 0,2,4,6,8,10,12,14 (mean 7, var 21); channel 1 is constant 9 (std 0 -> 1).
    const pixels: number[] = [];
    for (let k = 0; k < 8; k++) pixels.push(2 * k, 9);
    const s = set(pixels, 2, 2, 2, 2);
    const p = fitPreprocessor('standardize', s);
    const out = p.toFloat(s.images, 2, 2, 2, 2);
    expect(out[0]).to.be.closeTo(-7 / Math.sqrt(21), 1e-6);
    expect(out[14]).to.be.closeTo(7 / Math.sqrt(21), 1e-6);
    expect(out[1]).to.equal(0);
    expect(p.toJSON()).to.deep.equal({ kind: 'standardize', mean: [7, 9], std: [Math.sqrt(21), 1] });
  });

  it('none: x / 255', () => {
    const p = fitPreprocessor('none', grey);
    expectClose(p.toFloat(grey.images, 1, 2, 2, 1), [0, 50 / 255, 100 / 255, 250 / 255], 1e-7);
  });

  it('gcn: (x - 100) * 55 / sqrt(10 + 35000/3) (sample variance, pylearn2 constants)', () => {
    const out = new Float32Array(4);
    gcn(grey.images, 0, 4, DEFAULT_GCN_ZCA, out);
    const f = 55 / Math.sqrt(10 + 35000 / 3);
    expectClose(out, [-100 * f, -50 * f, 0, 150 * f]);
  });

  describe('gcn-zca on two 2x2 images with one direction of variance', () => {
    // GCN maps [200,0,100,100] to g = a[1,-1,0,0] and [0,200,100,100] to -g, a = 100 * 55 / sqrt(10 + 20000/3).
    // Their mean is 0 and the covariance g g^T has one eigenvalue lambda = 2a^2 along e = [1,-1,0,0]/sqrt(2):
    // W = e e^T / sqrt(lambda + 0.1) + (I - e e^T) / sqrt(0.1).
    const train = set([200, 0, 100, 100, 0, 200, 100, 100], 2, 2, 2, 1);
    const a = (100 * 55) / Math.sqrt(10 + 20000 / 3);
    const lambda = 2 * a * a;
    const along = a / Math.sqrt(lambda + 0.1); // W g = a sqrt(2) e / sqrt(lambda + 0.1) -> components +-a / sqrt(lambda + 0.1)
    const across = a / Math.sqrt(0.1);

    it('whitens the training direction to unit scale and amplifies the unseen one by 1/sqrt(filterBias)', () => {
      const p = fitPreprocessor('gcn-zca', train);
      expectClose(p.toFloat(train.images, 2, 2, 2, 1), [along, -along, 0, 0, -along, along, 0, 0], 1e-3);
      const other = Uint8Array.from([100, 100, 200, 0]);
      expectClose(p.toFloat(other, 1, 2, 2, 1), [0, 0, across, -across], 1e-2);
    });

    it('round-trips through JSON with identical output, and uses the cache on a second fit', () => {
      const dir = tempDir();
      try {
        const lines: string[] = [];
        const p = fitPreprocessor('gcn-zca', train, { cacheDir: dir, log: (l) => lines.push(l) });
        const q = preprocessorFromJSON(JSON.parse(JSON.stringify(p)));
        expect(Array.from(q.toFloat(train.images, 2, 2, 2, 1))).to.deep.equal(Array.from(p.toFloat(train.images, 2, 2, 2, 1)));
        const r = fitPreprocessor('gcn-zca', train, { cacheDir: dir, log: (l) => lines.push(l) });
        expect(lines.some((l) => l.includes('reusing'))).to.equal(true);
        expect(Array.from(r.toFloat(train.images, 2, 2, 2, 1))).to.deep.equal(Array.from(p.toFloat(train.images, 2, 2, 2, 1)));
      } finally {
        removeDir(dir);
      }
    });

    it('refuses images of another size', () => {
      const p = fitPreprocessor('gcn-zca', train);
      expect(() => p.toFloat(new Uint8Array(9), 1, 3, 3, 1)).to.throw(UserError, '2x2x1');
    });
  });

  it('JSON round trip of standardize and none', () => {
    for (const kind of ['standardize', 'none'] as const) {
      const p = fitPreprocessor(kind, grey);
      const q = preprocessorFromJSON(JSON.parse(JSON.stringify(p)));
      expect(q.kind).to.equal(kind);
      expect(Array.from(q.toFloat(grey.images, 1, 2, 2, 1))).to.deep.equal(Array.from(p.toFloat(grey.images, 1, 2, 2, 1)));
    }
  });

  it('broken JSON is a UserError naming the source and the key', () => {
    expect(() => preprocessorFromJSON({ kind: 'pca' }, 'run/preprocess.json')).to.throw(UserError, 'run/preprocess.json');
    expect(() => preprocessorFromJSON({ kind: 'standardize', mean: [1], std: [0] }, 'p.json')).to.throw(UserError, 'std.0');
    expect(() => preprocessorFromJSON({ kind: 'standardize', mean: [1, 2], std: [1] }, 'p.json')).to.throw(UserError, 'channels');
    const zca = JSON.parse(JSON.stringify(fitPreprocessor('gcn-zca', set([200, 0, 100, 100, 0, 200, 100, 100], 2, 2, 2, 1))));
    expect(() => preprocessorFromJSON({ ...zca, whitening: 'AAAA' }, 'p.json')).to.throw(UserError, 'whitening');
  });

  it('channel mismatch and empty training sets are UserErrors', () => {
    const p = fitPreprocessor('standardize', grey);
    expect(() => p.toFloat(new Uint8Array(12), 1, 2, 2, 3)).to.throw(UserError, '1-channel');
    expect(() => fitPreprocessor('standardize', set([], 0, 2, 2, 1))).to.throw(UserError, 'empty');
  });
});
