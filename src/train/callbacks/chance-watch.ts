// Warns once when the training loss sits at chance level (ln C) for epochs on end: the model has stopped learning.
import type { ModelConfig } from '../../config/schema.js';
import type { Callback, EpochLogs, TrainState } from './types.js';

/** Epochs in a row at chance before the warning (one such epoch also happens to slow starters). */
export const CHANCE_EPOCHS = 2;
/** |train_loss - ln C| below this counts as chance: a model whose logits no longer depend on the image. */
export const CHANCE_TOLERANCE = 0.005;

/** Why a model sits at chance, as far as its config tells. */
export function chanceHint(model: Pick<ModelConfig, 'head' | 'gap'>): string {
  if (model.head === 'gap' && model.gap.activation === 'relu') {
    return (
      "with the gap head's ReLU class maps (model.gap.activation: relu, NIN's choice) this usually means every class " +
      'map is zero on every image, which no gradient can revive; model.gap.activation: linear avoids it ' +
      '(configs/suites/quick.yaml uses it), as does a lower learning rate'
    );
  }
  return 'try a lower learning rate (train.optimizer.lr) or check the data and labels';
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
