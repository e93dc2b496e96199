// Writes metrics.csv (src/run/metrics.ts) as each epoch ends, so a crash keeps every finished epoch.
import { writeMetrics, type EpochLogs } from '../../run/metrics.js';
import type { Callback, TrainState } from './types.js';

export class CsvLogger implements Callback {
  constructor(private readonly runDir: string) {}

  /** The history holds this epoch's row and, after a resume, the checkpoint's rows before it. */
  onEpochEnd(_logs: EpochLogs, s: TrainState): void {
    writeMetrics(this.runDir, s.history);
  }
}
