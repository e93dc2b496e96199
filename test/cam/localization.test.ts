// Localization scoring on hand-made maps and records: the threshold sweep's IoUs, accuracies and best point.
import { expect } from 'chai';
import type { Box } from '../../src/cam/boxes.js';
import { summarize, sweepIous, SWEEP_THRESHOLDS, type LocalizationRecord } from '../../src/cam/localization.js';

/** IoUs per sweep threshold: `a` for the first `k` thresholds, `b` for the rest. */
const steps = (k: number, a: number, b: number) => Float64Array.from(SWEEP_THRESHOLDS, (_, i) => (i < k ? a : b));

describe('cam/localization', () => {
  it('sweeps thresholds 0.05..0.95', () => {
    expect(SWEEP_THRESHOLDS).to.have.length(19);
    expect(SWEEP_THRESHOLDS[0]).to.equal(0.05);
    expect(SWEEP_THRESHOLDS[3]).to.equal(0.2);
    expect(SWEEP_THRESHOLDS[18]).to.equal(0.95);
  });

  it('boxes a map at every threshold: a ring of 1s around a 2x2 peak of 9s', () => {
    // 4x4 map, truth = the peak [1,1,3,3]. Threshold t keeps values > 9t: the 1s stay while 9t < 1 (t = 0.05, 0.10),
    // giving the whole image (IoU 4/16); from t = 0.15 (9t = 1.35) to 0.95 (8.55) only the peak (IoU 1).
    const map = Float64Array.from([1, 1, 1, 1, 1, 9, 9, 1, 1, 9, 9, 1, 1, 1, 1, 1]);
    const truth: Box = [1, 1, 3, 3];
    expect(Array.from(sweepIous(map, 4, 4, truth, SWEEP_THRESHOLDS))).to.deep.equal(Array.from(steps(2, 0.25, 1)));
    // An empty map has no box at any threshold: IoU 0.
    expect(Array.from(sweepIous(new Float64Array(16), 4, 4, truth, [0.2, 0.5]))).to.deep.equal([0, 0]);
  });

  it('scores each threshold and picks the best true-class point (first on ties)', () => {
    const base = { probability: 0.9, truth: [0, 0, 4, 4] as Box, predictedIou: 0, trueClassIou: 0 };
    const records: LocalizationRecord[] = [
      // A: classified right; IoU 0.25 at the two lowest thresholds, 1 above.
      { ...base, index: 0, label: 0, predicted: 0, sweep: { predictedIou: steps(2, 0.25, 1), trueClassIou: steps(2, 0.25, 1) } },
      // B: classified wrong; its true class's map gives 0.6 for the first 10 thresholds (0.05..0.5), 0.4 above.
      { ...base, index: 1, label: 1, predicted: 2, sweep: { predictedIou: steps(19, 0.7, 0.7), trueClassIou: steps(10, 0.6, 0.4) } },
    ];
    const s = summarize('cam', records, 4, 4).sweep!;
    expect(s.points).to.have.length(19);
    // 0.05: only B localized (true class); top-1 needs the right class, B's is wrong: 0.
    expect(s.points[0]).to.deep.include({ threshold: 0.05 });
    expect(s.points[0].trueClass.accuracy).to.equal(0.5);
    expect(s.points[0].top1.accuracy).to.equal(0);
    // 0.15..0.5: both localized; top-1 only A.
    expect(s.points[2].trueClass.accuracy).to.equal(1);
    expect(s.points[2].trueClass.meanIou).to.be.closeTo(0.8, 1e-7); // (1 + 0.6) / 2
    expect(s.points[2].top1.accuracy).to.equal(0.5);
    expect(s.points[9].trueClass.accuracy).to.equal(1);
    // 0.55..0.95: only A.
    expect(s.points[10].trueClass.accuracy).to.equal(0.5);
    // Best: 1.0 first reached at 0.15.
    expect(s.best.threshold).to.equal(0.15);
    expect(s.best.trueClass.accuracy).to.equal(1);
  });

  it('leaves the sweep out when the records carry none', () => {
    const r: LocalizationRecord = { index: 0, label: 0, predicted: 0, probability: 1, truth: [0, 0, 2, 2], predictedIou: 1, trueClassIou: 1 };
    expect(summarize('cam', [r], 4, 4).sweep).to.equal(undefined);
    expect(summarize('cam', [], 4, 4).sweep).to.equal(undefined);
  });
});
