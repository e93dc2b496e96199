// Train/validation split: sizes, disjointness, stratification, determinism.
import { expect } from 'chai';
import { UserError } from '../../src/errors.js';
import { splitTrainVal } from '../../src/data/split.js';
import type { ImageSet } from '../../src/data/types.js';

/** n 1x1x1 images whose pixel is their index (mod 256) and whose id is recoverable from pixel + label. */
function indexed(n: number, classes: number): ImageSet {
  const images = new Uint8Array(n * 2);
  const labels = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    images[2 * i] = i % 256;
    images[2 * i + 1] = Math.floor(i / 256);
    labels[i] = i % classes === 0 ? 0 : i % classes; // classes 0..classes-1
  }
  return { images, labels, n, height: 1, width: 1, channels: 2, boxes: Float32Array.from({ length: 4 * n }, (_, k) => k) };
}

const ids = (s: ImageSet) => Array.from({ length: s.n }, (_, i) => s.images[2 * i] + 256 * s.images[2 * i + 1]);

describe('data/split', () => {
  const set = indexed(1000, 10);

  it('sizes add up, parts are disjoint and cover the set, order and boxes are kept', () => {
    const { train, val } = splitTrainVal(set, 150, 1);
    expect(val.n).to.equal(150);
    expect(train.n).to.equal(850);
    const t = ids(train);
    const v = ids(val);
    expect(new Set([...t, ...v]).size).to.equal(1000);
    expect(t).to.deep.equal([...t].sort((a, b) => a - b));
    for (let k = 0; k < val.n; k++) {
      expect(val.labels[k]).to.equal(set.labels[v[k]]);
      expect(Array.from(val.boxes?.subarray(4 * k, 4 * k + 4) ?? [])).to.deep.equal([4 * v[k], 4 * v[k] + 1, 4 * v[k] + 2, 4 * v[k] + 3]);
    }
  });

  it('is stratified: every class gives 15 of its 100 images', () => {
    const { val } = splitTrainVal(set, 150, 1);
    const counts = new Array(10).fill(0);
    for (const l of val.labels) counts[l]++;
    expect(counts).to.deep.equal(new Array(10).fill(15));
  });

  it('largest remainders decide leftovers exactly', () => {
    // 3 classes of sizes 5, 3, 2 (n = 10); 5 validation images: exact shares 2.5, 1.5, 1.0 -> 3, 1, 1 (tie -> lower class).
    const labels = Int32Array.from([0, 0, 0, 0, 0, 1, 1, 1, 2, 2]);
    const s: ImageSet = { images: new Uint8Array(10), labels, n: 10, height: 1, width: 1, channels: 1 };
    const counts = [0, 0, 0];
    for (const l of splitTrainVal(s, 5, 3).val.labels) counts[l]++;
    expect(counts).to.deep.equal([3, 1, 1]);
  });

  it('is deterministic for a seed and differs across seeds', () => {
    expect(ids(splitTrainVal(set, 100, 5).val)).to.deep.equal(ids(splitTrainVal(set, 100, 5).val));
    expect(ids(splitTrainVal(set, 100, 5).val)).to.not.deep.equal(ids(splitTrainVal(set, 100, 6).val));
  });

  it('validationSize 0 gives an empty validation set and the whole training set', () => {
    const { train, val } = splitTrainVal(set, 0, 1);
    expect(val.n).to.equal(0);
    expect(val.images.length).to.equal(0);
    expect(train.n).to.equal(1000);
  });

  it('a validation set as large as the training set is a UserError naming the key', () => {
    expect(() => splitTrainVal(set, 1000, 1)).to.throw(UserError, 'data.validationSize');
  });
});
