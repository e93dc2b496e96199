// Warns once when the training loss sits at chance level (ln C) for epochs on end: the model has stopped learning.
import type { ModelConfig } from '../../config/schema.js';
import type { Callback, TrainState } from './types.js';
import type { EpochLogs } from '../../run/metrics.js';

/** Epochs in a row at chance before the warning (one such epoch also happens to slow starters). */
export const CHANCE_EPOCHS = 2;
/** |train_loss - ln C| below this counts as chance: a model whose logits no longer depend on the image. */
export const CHANCE_TOLERANCE = 0.005;
/** |train_eval_loss - ln C| below this: inference-mode logits all equal (every ReLU class map zero): dead, whatever the accuracy. */
export const UNIFORM_TOLERANCE = 1e-4;
/**
 * Inference-mode accuracy at or above this multiple of 1/C shows learning even while the running loss is still near
 * ln C: a slow starter such as nin-gap.yaml (the authors' N(0, 0.05^2) kernels start the logits near 0.01, so its loss
 * leaves ln 10 slowly while validation accuracy is already 12-15% after two epochs), not a dead model.
 */
export const LEARNING_ACC_FACTOR = 1.2;

/** Why a model sits at chance, as far as its config tells, and what to change. */
export function chanceHint(model: Pick<ModelConfig, 'head' | 'gap'>): string {
  if (model.head === 'gap' && model.gap.activation === 'relu') {
    const fix =
      model.gap.bias > 0
        ? `raise model.gap.bias (now ${model.gap.bias}) so every map starts further above zero, or lower train.optimizer.lr`
        : `set model.gap.bias to a positive value (the default, 1) so every map starts active`;
    return (
      "likely cause: the gap head's ReLU class maps (model.gap.activation: relu) are zero on every image, so the " +
      'logits are all 0 and no gradient can revive them (an active map raises its own probability and is pushed down ' +
      `more than up; docs/gap-relu.md); ${fix}; model.gap.activation: linear cannot die this way`
    );
  }
  return 'try a lower learning rate (train.optimizer.lr) or a learning-rate warm-up (train.schedule.warmupEpochs), or check the data and labels';
}

export class ChanceWatch implements Callback {
  private warned = false;
  private readonly chanceLoss: number;

  constructor(
    numClasses: number,
    private readonly hint: string,
    private readonly warn: (line: string) => void,
  ) {
    this.chanceLoss = Math.log(numClasses);
  }

  onEpochEnd(_l: EpochLogs, s: TrainState): void {
    if (this.warned || s.history.length < CHANCE_EPOCHS) return;
    const recent = s.history.slice(-CHANCE_EPOCHS);
    if (!recent.every((h) => this.atChance(h))) return;
    this.warned = true;
    const last = recent.at(-1)!;
    const head =
      `training loss has stayed at chance level, ln(${Math.round(Math.exp(this.chanceLoss))}) = ${this.chanceLoss.toFixed(3)}, ` +
      `for ${CHANCE_EPOCHS} epochs (through epoch ${last.epoch}): `;
    this.warn(head + (this.logitsMove(last) ? this.slowLine(last) : `the model is not learning; ${this.hint}`));
  }

  /** Inference-mode loss measured and not exactly ln C: the logits still depend on the image, however little. */
  private logitsMove(h: EpochLogs): boolean {
    return Number.isFinite(h.train_eval_loss) && Math.abs(h.train_eval_loss - this.chanceLoss) >= UNIFORM_TOLERANCE;
  }

  /** A slow start, not a dead model: what the numbers show and what speeds it up. */
  private slowLine(h: EpochLogs): string {
    const acc = Number.isFinite(h.val_acc) ? `, validation accuracy ${(100 * h.val_acc).toFixed(1)}%` : '';
    return (
      `the model is barely learning, but its logits are not all equal (inference-mode training loss ` +
      `${h.train_eval_loss.toFixed(4)}${acc}): a slow start, not a dead one; small initial weights (such as the ` +
      `authors' N(0, 0.05^2), model.initializer: randomNormal) start the logits near 0 and they grow slowly at this ` +
      'learning rate: give it more epochs, or raise train.optimizer.lr'
    );
  }

  /**
   * The running loss at ln C and nothing in inference mode says otherwise: either the inference-mode training loss is
   * exactly ln C (uniform logits), or the accuracy measured in inference mode (validation, else the train-eval sample;
   * neither when both are off) stays below LEARNING_ACC_FACTOR / C.
   */
  private atChance(h: EpochLogs): boolean {
    if (!(Math.abs(h.train_loss - this.chanceLoss) < CHANCE_TOLERANCE)) return false;
    if (Math.abs(h.train_eval_loss - this.chanceLoss) < UNIFORM_TOLERANCE) return true;
    const acc = Number.isFinite(h.val_acc) ? h.val_acc : h.train_eval_acc;
    return !(Number.isFinite(acc) && acc >= LEARNING_ACC_FACTOR / Math.exp(this.chanceLoss));
  }
}
