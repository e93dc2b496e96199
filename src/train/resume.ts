// Puts a freshly built run back where its last checkpoint left it: weights, optimizer, schedule, callbacks, metrics.csv.
import type { EpochAccum } from './callbacks/types.js';
import { writeMetrics, type EpochLogs } from '../run/metrics.js';
import { disposeCheckpoint, readCheckpoint, type ResumableParts } from './checkpoint.js';

export interface RestoreDeps extends ResumableParts {
  log: (line: string) => void;
  /** Says when the newest checkpoint is damaged and the previous one is used. */
  warn: (line: string) => void;
}

export interface StartPosition {
  epoch: number;
  batch: number;
  accum: EpochAccum;
  history: EpochLogs[];
}

/**
 * Reads and checks the checkpoint before anything is changed (a damaged one throws and leaves the run folder as it
 * was), then restores it and rewrites metrics.csv from its history, so rows of epochs run after it are dropped.
 */
export function restoreCheckpoint(d: RestoreDeps): StartPosition {
  const c = readCheckpoint(d.runDir, d, d.warn);
  try {
    d.model.setWeights(c.weights);
    d.optimizer.load(c.optimizer);
    d.schedule.load(c.state.schedule);
    d.earlyStopping.st = { ...c.state.earlyStopping };
    if (c.state.best) d.best.restore(c.state.best, c.bestWeights);
  } finally {
    disposeCheckpoint(c);
  }
  writeMetrics(d.runDir, c.state.history);
  d.log(`resuming at epoch ${c.state.epoch + 1}, batch ${c.state.batch} (checkpoint of ${c.state.savedAt})`);
  return { epoch: c.state.epoch, batch: c.state.batch, accum: c.state.accum, history: c.state.history };
}
