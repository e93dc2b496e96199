// The callback interface of the training loop (Keras-style hooks) and the logs it passes.

/**
 * One row of metrics.csv: what an epoch measured. NaN where nothing was measured: no validation set, train.trainEvalSize
 * 0, or a row resumed from a checkpoint written before train_eval_* existed (checkpoint.ts: those and the gaps).
 */
export interface EpochLogs {
  /** 1-based epoch number. */
  epoch: number;
  lr: number;
  /** Keras meaning: mean over the epoch's batches as trained (dropout and augmentation on, weights moving). */
  train_loss: number;
  /** Keras meaning, like train_loss; not comparable with val_acc, so no gap is taken from it. */
  train_acc: number;
  /** Loss on the fixed training sample (train.trainEvalSize) at the epoch end, in inference mode like val_loss. */
  train_eval_loss: number;
  /** Accuracy on that sample, in inference mode. */
  train_eval_acc: number;
  val_loss: number;
  val_acc: number;
  /** train_eval_acc - val_acc: the generalization gap in accuracy (> 0 when the model overfits). */
  gap_acc: number;
  /** val_loss - train_eval_loss: the generalization gap in loss (> 0 when the model overfits). */
  gap_loss: number;
  /** Wall time of the whole epoch: batches, validation and the train-eval pass. */
  epoch_seconds: number;
  /** The train-eval pass's share of epoch_seconds (its cost; 0 when it is off). */
  train_eval_seconds: number;
  /** Training images per second over the batches (evaluation passes excluded). */
  images_per_second: number;
}

export interface BatchLogs {
  /** 0-based batch index within the epoch. */
  batch: number;
  size: number;
  loss: number;
  acc: number;
  /** Running means over the epoch so far. */
  epochLoss: number;
  epochAcc: number;
  imagesPerSecond: number;
}

/** Sums over the batches of the current epoch so far (kept in checkpoints for a mid-epoch resume). */
export interface EpochAccum {
  lossSum: number;
  correct: number;
  seen: number;
  seconds: number;
}

/** Loop state shared with the callbacks. */
export interface TrainState {
  epochs: number;
  batchesPerEpoch: number;
  trainSize: number;
  /** 0-based epoch being run (or just finished, in onEpochEnd). */
  epoch: number;
  /** Batches of the current epoch done. */
  batch: number;
  accum: EpochAccum;
  history: EpochLogs[];
  /** Set by a callback to end training after the current epoch (early stopping) or batch (interrupt). */
  stop: boolean;
  stopReason?: string;
}

export interface Callback {
  onTrainBegin?(s: TrainState): void | Promise<void>;
  onEpochBegin?(s: TrainState): void | Promise<void>;
  onBatchEnd?(logs: BatchLogs, s: TrainState): void | Promise<void>;
  onEpochEnd?(logs: EpochLogs, s: TrainState): void | Promise<void>;
  onTrainEnd?(s: TrainState): void | Promise<void>;
}
