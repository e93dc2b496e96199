// Early stopping on a validation metric, and the best-epoch tracker that the summary and best-weights use.
import type { Callback, TrainState } from './types.js';
import type { EpochLogs } from '../../run/metrics.js';

export type Monitor = 'val_loss' | 'val_acc';

/** Whether `value` improves on `best` by more than minDelta for this monitor. */
export function improves(monitor: Monitor, value: number, best: number, minDelta = 0): boolean {
  if (!Number.isFinite(value)) return false;
  if (!Number.isFinite(best)) return true;
  return monitor === 'val_loss' ? value < best - minDelta : value > best + minDelta;
}

export interface EarlyStoppingState {
  best: number;
  wait: number;
}

export class EarlyStopping implements Callback {
  st: EarlyStoppingState = { best: NaN, wait: 0 };

  constructor(
    private readonly monitor: Monitor,
    private readonly patience: number,
    private readonly minDelta: number,
  ) {}

  onEpochEnd(l: EpochLogs, s: TrainState): void {
    if (this.patience <= 0) return;
    if (improves(this.monitor, l[this.monitor], this.st.best, this.minDelta)) {
      this.st = { best: l[this.monitor], wait: 0 };
    } else if (++this.st.wait >= this.patience) {
      s.stop = true;
      s.stopReason = `early stopping: ${this.monitor} did not improve for ${this.patience} epochs`;
    }
  }
}
