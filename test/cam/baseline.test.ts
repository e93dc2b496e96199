// The central-box baseline: the best fraction over 0.05..1 on four hand-made boxes, its accuracies, and the fixed 0.5 box.
import { expect } from 'chai';
import type { Box } from '../../src/cam/boxes.js';
import { summarize, type LocalizationRecord } from '../../src/cam/localization.js';

/**
 * 20x20 images: fraction k/20 gives the central box of side k, [10 - k/2, 10 + k/2]. For a centred square truth of
 * side a, the IoU is (min(a, k) / max(a, k))^2, >= 0.5 for k in [a / sqrt 2, a sqrt 2]:
 *   A side 4: k 3..5;  B side 6: k 5..8;  C side 7 (half-pixel edges): k 5..9 (k 5: 25/49 = 0.5102);
 *   D the top-left quarter [0,0,10,10]: intersection (k/2)^2, union 100 + k^2 - k^2/4; at most 1/4 (k 20), never.
 * Only k = 5 (fraction 0.25) has three correct: A 16/25, B 25/36, C 25/49, D 6.25/118.75 = 1/19. Next: k 6 and 7, two.
 * Mean IoU alone would pick k = 6 (0.5625 against 0.4743), so this also checks that the choice is by accuracy.
 */
const TRUTHS: Box[] = [[8, 8, 12, 12], [7, 7, 13, 13], [6.5, 6.5, 13.5, 13.5], [0, 0, 10, 10]];
/**
 * Classified right: A and D only; the top-1 score needs both the class and the box. Chosen by top-1 accuracy instead,
 * the baseline would be k = 3 (fraction 0.15, the first with A right).
 */
const PREDICTED = [0, 2, 1, 3];

const records: LocalizationRecord[] = TRUTHS.map((truth, i) => ({
  index: i, label: i, predicted: PREDICTED[i], probability: 0.9, truth, predictedIou: 0, trueClassIou: 0,
}));

describe('cam/localization: central-box baseline', () => {
  it('chooses fraction 0.25 by true-class accuracy, 3 of 4 boxes right; its top-1 counts A only', () => {
    const { best } = summarize('cam', records, 20, 20).baseline;
    expect(best.fraction).to.equal(0.25);
    expect(best.trueClass.accuracy).to.equal(0.75);
    const meanIou = (16 / 25 + 25 / 36 + 25 / 49 + 1 / 19) / 4; // 0.474320
    expect(best.trueClass.meanIou).to.be.closeTo(meanIou, 1e-12);
    expect(best.top1.accuracy).to.equal(0.25); // B's and C's boxes are right but their classes are not
    expect(best.top1.meanIou).to.be.closeTo(meanIou, 1e-12); // the IoU of the box whatever the class
  });

  it('the fixed half-size box [5,5,15,15] gets none right here', () => {
    const { fixed } = summarize('cam', records, 20, 20).baseline;
    expect(fixed.fraction).to.equal(0.5);
    expect(fixed.trueClass.accuracy).to.equal(0);
    // A 16/100, B 36/100, C 49/100 (just short of 0.5), D 25/175.
    expect(fixed.trueClass.meanIou).to.be.closeTo((0.16 + 0.36 + 0.49 + 1 / 7) / 4, 1e-12);
    expect(fixed.top1.accuracy).to.equal(0);
  });
});
