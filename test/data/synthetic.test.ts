// Synthetic dataset: deterministic from the seed, balanced labels, boxes inside the image and around the object.
import { expect } from 'chai';
import { createHash } from 'node:crypto';
import { defaultConfig } from '../../src/config/schema.js';
import { UserError } from '../../src/errors.js';
import { loadDataset } from '../../src/data/registry.js';
import { generateSynthetic, SYNTHETIC_CLASS_NAMES } from '../../src/data/synthetic.js';

const sha = (a: Uint8Array) => createHash('sha256').update(a).digest('hex');

describe('data/synthetic', () => {
  const opts = { classes: 6, n: 120, size: 32, seed: 7, split: 'train' };

  it('same seed gives the same bytes; another seed or split gives different ones', () => {
    const a = generateSynthetic(opts);
    const b = generateSynthetic(opts);
    expect(sha(a.images)).to.equal(sha(b.images));
    expect(Array.from(a.labels)).to.deep.equal(Array.from(b.labels));
    expect(Array.from(a.boxes ?? [])).to.deep.equal(Array.from(b.boxes ?? []));
    expect(sha(generateSynthetic({ ...opts, seed: 8 }).images)).to.not.equal(sha(a.images));
    expect(sha(generateSynthetic({ ...opts, split: 'test' }).images)).to.not.equal(sha(a.images));
  });

  it('a larger set starts with the same images (image i depends only on seed, split and i)', () => {
    const small = generateSynthetic({ ...opts, n: 12 });
    const big = generateSynthetic(opts);
    expect(sha(big.images.subarray(0, small.images.length))).to.equal(sha(small.images));
    expect(Array.from(big.labels.subarray(0, 12))).to.deep.equal(Array.from(small.labels));
  });

  it('labels are balanced in every block of `classes` images and lie in range', () => {
    const s = generateSynthetic(opts);
    for (let b = 0; b < s.n; b += 6) {
      expect(Array.from(s.labels.subarray(b, b + 6)).sort()).to.deep.equal([0, 1, 2, 3, 4, 5]);
    }
  });

  it('boxes lie inside the image, on whole pixels, at least 7 pixels across', () => {
    const s = generateSynthetic({ ...opts, n: 300, size: 32 });
    const boxes = s.boxes ?? new Float32Array(0);
    expect(boxes.length).to.equal(4 * s.n);
    for (let i = 0; i < s.n; i++) {
      const [x0, y0, x1, y1] = boxes.subarray(4 * i, 4 * i + 4);
      for (const v of [x0, y0, x1, y1]) expect(Number.isInteger(v)).to.equal(true);
      expect(x0).to.be.at.least(0);
      expect(y0).to.be.at.least(0);
      expect(x1).to.be.at.most(32);
      expect(y1).to.be.at.most(32);
      // Objects are 32%..60% of the side (+-15% aspect, small rotation): at least 7 pixels across.
      expect(x1 - x0).to.be.within(7, 32);
      expect(y1 - y0).to.be.within(7, 32);
    }
  });

  it('works at other image sizes', () => {
    const s = generateSynthetic({ ...opts, n: 10, size: 8 });
    expect(s.images.length).to.equal(10 * 8 * 8 * 3);
    const boxes = s.boxes ?? new Float32Array(0);
    for (let i = 0; i < 10; i++) expect(boxes[4 * i + 2]).to.be.at.most(8);
  });

  it('colour does not give the class away: per-class mean colours inside the box are alike', () => {
    const s = generateSynthetic({ ...opts, n: 1200 });
    const boxes = s.boxes ?? new Float32Array(0);
    const sums = Array.from({ length: 6 }, () => [0, 0, 0, 0]);
    for (let i = 0; i < s.n; i++) {
      const [x0, y0, x1, y1] = boxes.subarray(4 * i, 4 * i + 4);
      const acc = sums[s.labels[i]];
      for (let y = y0; y < y1; y++)
        for (let x = x0; x < x1; x++) for (let c = 0; c < 3; c++) acc[c] += s.images[(i * 1024 + y * 32 + x) * 3 + c];
      acc[3] += (x1 - x0) * (y1 - y0);
    }
    const means = sums.map((a) => [a[0] / a[3], a[1] / a[3], a[2] / a[3]]);
    for (const m of means) for (const v of m) expect(v).to.be.within(105, 150); // all near mid-grey (127.5)
  });

  it('loadDataset builds it from the config: names, sizes, limits', async () => {
    const data = { ...defaultConfig().data, synthetic: { classes: 4, trainSize: 40, testSize: 12, imageSize: 16, clutter: 1 }, trainLimit: 30 };
    const ds = await loadDataset(data, 3);
    expect(ds.name).to.equal('synthetic');
    expect(ds.classNames).to.deep.equal(SYNTHETIC_CLASS_NAMES.slice(0, 4));
    expect(ds.classNames).to.deep.equal(['disc', 'square', 'triangle', 'cross']);
    expect([ds.train.n, ds.test.n, ds.train.height, ds.train.channels]).to.deep.equal([30, 12, 16, 3]);
    expect(ds.train.boxes?.length).to.equal(120);
  });

  it('refuses sizes that would not fit in memory, naming the key', async () => {
    const data = { ...defaultConfig().data, synthetic: { classes: 4, trainSize: 10_000_000, testSize: 12, imageSize: 32, clutter: 1 } };
    await loadDataset(data, 3).then(
      () => expect.fail('expected a UserError'),
      (e: Error) => {
        expect(e).to.be.instanceOf(UserError);
        expect(e.message).to.contain('data.synthetic.trainSize').and.contain('GiB');
      },
    );
  });
});

describe('synthetic clutter', () => {
  const opts = { classes: 3, n: 6, size: 16, seed: 2, split: 'train' };
  it('clutter 1 is the default stream; clutter 0 gives a noise-free plain gradient background', () => {
    const full = generateSynthetic(opts);
    expect(Buffer.from(generateSynthetic({ ...opts, clutter: 1 }).images).equals(Buffer.from(full.images))).to.equal(true);
    const plain = generateSynthetic({ ...opts, clutter: 0 });
    expect(Buffer.from(plain.images).equals(Buffer.from(full.images))).to.equal(false);
    expect(Array.from(plain.labels)).to.deep.equal(Array.from(full.labels));
    // Without noise, two horizontally adjacent background pixels far from the object differ by at most the gradient step.
    const b = plain.boxes as Float32Array;
    let checked = 0;
    for (let i = 0; i < plain.n; i++) {
      const [x0, y0, x1, y1] = Array.from(b.subarray(i * 4, i * 4 + 4));
      for (const [x, y] of [[0, 0], [14, 15], [0, 15]]) {
        if (x + 1 >= x0 - 1 && x <= x1 && y >= y0 - 1 && y <= y1) continue;
        const o = ((i * 16 + y) * 16 + x) * 3;
        for (let c = 0; c < 3; c++) expect(Math.abs(plain.images[o + c] - plain.images[o + 3 + c])).to.be.at.most(12);
        checked++;
      }
    }
    expect(checked).to.be.greaterThan(0);
  });
});
