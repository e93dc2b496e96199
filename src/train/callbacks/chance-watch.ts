// Warns once when the training loss sits at chance level (ln C) for epochs on end: the model has stopped learning.
import type { ModelConfig } from '../../config/schema.js';
import type { Callback, TrainState } from './types.js';
import type { EpochLogs } from '../../run/metrics.js';

/** Epochs in a row at chance before the warning (one such epoch also happens to slow starters). */
export const CHANCE_EPOCHS = 2;
/** |train_loss - ln C| below this counts as chance: a model whose logits no longer depend on the image. */
export const CHANCE_TOLERANCE = 0.005;

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
    if (!recent.every((h) => Math.abs(h.train_loss - this.chanceLoss) < CHANCE_TOLERANCE)) return;
    this.warned = true;
    this.warn(
      `training loss has stayed at chance level, ln(${Math.round(Math.exp(this.chanceLoss))}) = ${this.chanceLoss.toFixed(3)}, ` +
        `for ${CHANCE_EPOCHS} epochs (through epoch ${recent.at(-1)!.epoch}): the model is not learning; ${this.hint}`,
    );
  }
}
