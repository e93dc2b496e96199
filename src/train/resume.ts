// Puts a freshly built run back where its last checkpoint left it: weights, optimizer, schedule, callbacks, metrics.csv.
import fs from 'node:fs';
import { METRIC_COLUMNS, roundLogs } from './callbacks/csv-logger.js';
import type { EpochAccum, EpochLogs } from './callbacks/types.js';
import { disposeCheckpoint, readCheckpoint, type ResumableParts } from './checkpoint.js';

export interface RestoreDeps extends ResumableParts {
  metricsFile: string;
  log: (line: string) => void;
}

export interface StartPosition {
  epoch: number;
  batch: number;
  accum: EpochAccum;
  history: EpochLogs[];
}

export function restoreCheckpoint(d: RestoreDeps): StartPosition {
  const c = readCheckpoint(d.runDir, d.vars);
  try {
    d.model.setWeights(c.weights);
    d.optimizer.load(c.optimizer);
    d.schedule.load(c.state.schedule);
    d.earlyStopping.st = { ...c.state.earlyStopping };
    if (c.state.best && c.bestWeights.length) d.best.restore(c.state.best, c.bestWeights);
  } finally {
    disposeCheckpoint(c);
  }
  rewriteMetrics(d.metricsFile, c.state.history);
  d.log(`resuming at epoch ${c.state.epoch + 1}, batch ${c.state.batch} (checkpoint of ${c.state.savedAt})`);
  return { epoch: c.state.epoch, batch: c.state.batch, accum: c.state.accum, history: c.state.history };
}

/**
 * Rewrites metrics.csv from the checkpoint's history (the same text CsvLogger writes), so rows of epochs run after the
 * checkpoint are dropped and none are missing.
 */
function rewriteMetrics(file: string, history: readonly EpochLogs[]): void {
  const lines = [METRIC_COLUMNS.join(',')];
  for (const h of history) {
    const r = roundLogs(h);
    lines.push(METRIC_COLUMNS.map((k) => String(r[k])).join(','));
  }
  fs.writeFileSync(file, lines.join('\n') + '\n');
}
