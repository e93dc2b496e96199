// The callback interface of the training loop (Keras-style hooks) and the logs it passes.
import type { EpochLogs } from '../../run/metrics.js';


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
