// Box extraction (threshold, largest component, ties, connectivity, empty maps), IoU and the central box.
import { expect } from 'chai';
import { centralBox, iou, mapToBox, type Box } from '../../src/cam/boxes.js';

/** A map from rows of digits: '.' is 0, '1'..'9' are values. */
function draw(rows: string[]): { map: Float32Array; h: number; w: number } {
  const h = rows.length;
  const w = rows[0].length;
  const map = new Float32Array(h * w);
  rows.forEach((r, y) => [...r].forEach((ch, x) => (map[y * w + x] = ch === '.' ? 0 : Number(ch))));
  return { map, h, w };
}

describe('cam/boxes', () => {
  it('boxes the largest of several components (x1, y1 exclusive)', () => {
    const { map, h, w } = draw([
      '99.....',
      '9......',
      '...555.',
      '...55..',
      '.......',
      '......9',
    ]);
    // Components: {3 pixels of 9}, {5 pixels of 5}, {1 pixel of 9}: the 5-pixel one wins despite lower values.
    expect(mapToBox(map, h, w)).to.deep.equal([3, 2, 6, 4]);
  });

  it('thresholds strictly above 20% of the maximum', () => {
    // max 5 -> threshold 1: value 1 is not above it, value 2 is.
    const { map, h, w } = draw([
      '5111',
      '....',
      '2...',
    ]);
    expect(mapToBox(map, h, w)).to.deep.equal([0, 0, 1, 1]);
    expect(mapToBox(map, h, w, { threshold: 0.1 })).to.deep.equal([0, 0, 4, 1]);
  });

  it('joins diagonal neighbours with 8-connectivity only', () => {
    const { map, h, w } = draw([
      '9...',
      '.9..',
      '..9.',
      '9...',
    ]);
    expect(mapToBox(map, h, w)).to.deep.equal([0, 0, 3, 3]);
    // 4-connectivity: four 1-pixel components of equal mass: the first in raster order wins.
    expect(mapToBox(map, h, w, { connectivity: 4 })).to.deep.equal([0, 0, 1, 1]);
  });

  it('breaks size ties by mass, then by raster order', () => {
    const byMass = draw([
      '66..',
      '....',
      '..99',
    ]);
    expect(mapToBox(byMass.map, byMass.h, byMass.w)).to.deep.equal([2, 2, 4, 3]);
    const equal = draw([
      '..77',
      '....',
      '77..',
    ]);
    expect(mapToBox(equal.map, equal.h, equal.w)).to.deep.equal([2, 0, 4, 1]);
  });

  it('returns no box for all-zero, negative, NaN and empty maps', () => {
    expect(mapToBox(new Float32Array(12), 3, 4)).to.equal(undefined);
    expect(mapToBox(new Float32Array(12).fill(-2), 3, 4)).to.equal(undefined);
    expect(mapToBox(new Float32Array(12).fill(NaN), 3, 4)).to.equal(undefined);
    expect(mapToBox(new Float32Array(0), 0, 0)).to.equal(undefined);
  });

  it('boxes the whole image for a constant positive map and ignores negative regions', () => {
    expect(mapToBox(new Float32Array(6).fill(3), 2, 3)).to.deep.equal([0, 0, 3, 2]);
    const m = Float32Array.from([-9, -9, 4, -9, 1, 4]); // 2x3, threshold 0.8
    expect(mapToBox(m, 2, 3)).to.deep.equal([1, 0, 3, 2]);
  });

  it('rejects a map of the wrong length', () => {
    expect(() => mapToBox(new Float32Array(5), 2, 3)).to.throw(/expected 2x3/);
  });

  it('computes IoU on continuous boxes', () => {
    const a: Box = [0, 0, 4, 4];
    expect(iou(a, a)).to.equal(1);
    expect(iou(a, [4, 0, 8, 4])).to.equal(0); // touching edges
    expect(iou(a, [2, 0, 6, 4])).to.equal(8 / 24);
    expect(iou(a, [1, 1, 3, 3])).to.equal(4 / 16);
    expect(iou(a, [0.5, 0, 4, 4])).to.equal(14 / 16);
    expect(iou(a, undefined)).to.equal(0);
    expect(iou([1, 1, 1, 1], [1, 1, 1, 1])).to.equal(0);
  });

  it('centres the baseline box', () => {
    expect(centralBox(32, 32, 0.5)).to.deep.equal([8, 8, 24, 24]);
    expect(centralBox(10, 20, 1)).to.deep.equal([0, 0, 20, 10]);
    expect(centralBox(10, 10, 0.25)).to.deep.equal([3.75, 3.75, 6.25, 6.25]);
  });
});
