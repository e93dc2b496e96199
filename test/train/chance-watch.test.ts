// The chance-level warning: fires once after two epochs at ln C, never for a learning model, with a head-specific hint.
import { expect } from 'chai';
import { ChanceWatch, chanceHint } from '../../src/train/callbacks/chance-watch.js';
import type { TrainState } from '../../src/train/callbacks/types.js';
import type { EpochLogs } from '../../src/run/metrics.js';
import { defaultConfig } from '../../src/config/schema.js';

const LN6 = Math.log(6); // 1.791759...

function epochs(losses: number[], inference: Partial<EpochLogs> = {}): { warnings: string[] } {
  const warnings: string[] = [];
  const watch = new ChanceWatch(6, 'HINT', (l) => warnings.push(l));
  const s = { history: [] as EpochLogs[] } as TrainState;
  losses.forEach((train_loss, i) => {
    const logs = { epoch: i + 1, train_loss, ...inference } as EpochLogs;
    s.history.push(logs);
    watch.onEpochEnd(logs, s);
  });
  return { warnings };
}

describe('train/callbacks/chance-watch', () => {
  it('warns once, after two epochs in a row within 0.005 of ln C, naming the epoch and the hint', () => {
    const { warnings } = epochs([LN6 + 0.004, LN6 - 0.001, LN6, LN6]);
    expect(warnings).to.deep.equal([
      'training loss has stayed at chance level, ln(6) = 1.792, for 2 epochs (through epoch 2): the model is not learning; HINT',
    ]);
  });

  it('stays quiet for a learning model, a slow first epoch, or a single epoch at chance', () => {
    expect(epochs([1.77, 1.5, 1.2]).warnings).to.deep.equal([]);
    expect(epochs([LN6, 1.7, LN6, 1.6]).warnings).to.deep.equal([]); // never two in a row
    expect(epochs([LN6 + 0.006, LN6 + 0.006]).warnings).to.deep.equal([]); // just outside the tolerance
    expect(epochs([LN6]).warnings).to.deep.equal([]);
  });

  it('believes inference-mode accuracy of at least 1.2 / C over a running loss still at ln C (a slow starter)', () => {
    const slow = { train_eval_loss: LN6 - 0.003, train_eval_acc: 0.18 };
    expect(epochs([LN6, LN6], { ...slow, val_acc: 0.2 }).warnings).to.deep.equal([]); // 0.2 = 1.2 / 6
    expect(epochs([LN6, LN6], { ...slow, val_acc: NaN, train_eval_acc: 0.21 }).warnings).to.deep.equal([]);
    expect(epochs([LN6, LN6], { ...slow, val_acc: 0.199 }).warnings).to.deep.equal([
      'training loss has stayed at chance level, ln(6) = 1.792, for 2 epochs (through epoch 2): the model is barely ' +
        'learning, but its logits are not all equal (inference-mode training loss 1.7888, validation accuracy 19.9%): ' +
        "a slow start, not a dead one; small initial weights (such as the authors' N(0, 0.05^2), model.initializer: " +
        'randomNormal) start the logits near 0 and they grow slowly at this learning rate: give it more epochs, or raise ' +
        'train.optimizer.lr',
    ]);
    expect(epochs([LN6, LN6], { ...slow, val_acc: NaN, train_eval_acc: NaN }).warnings).to.have.length(1);
  });

  it('still warns when the inference-mode loss is exactly ln C (uniform logits), whatever the accuracy', () => {
    // Dead maps on imbalanced data: argmax of equal logits picks class 0, which may hold 30% of the images.
    expect(epochs([LN6, LN6], { train_eval_loss: LN6 + 5e-5, train_eval_acc: 0.3, val_acc: 0.3 }).warnings[0]).to.match(/not learning; HINT$/);
    expect(epochs([LN6, LN6], { train_eval_loss: LN6 - 2e-4, train_eval_acc: 0.3, val_acc: 0.3 }).warnings).to.deep.equal([]);
  });

  it('blames dead ReLU class maps only for the gap head with ReLU maps, and names the fix for the bias in use', () => {
    const m = defaultConfig().model; // nin + gap, relu maps: NIN's choice, bias 1
    expect(chanceHint(m)).to.match(/class maps .* are zero on every image.*raise model\.gap\.bias \(now 1\)/);
    expect(chanceHint({ ...m, gap: { activation: 'relu', bias: 0 } })).to.match(/set model\.gap\.bias to a positive value/);
    expect(chanceHint({ ...m, gap: { activation: 'linear', bias: 1 } })).to.match(/lower learning rate/);
    expect(chanceHint({ ...m, head: 'fc' })).to.not.match(/class map/);
  });
});
