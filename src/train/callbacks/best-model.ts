// Tracks the best validation epoch and keeps a copy of its weights, for the "best checkpoint" test evaluation.
import * as tf from '@tensorflow/tfjs';
import { improves, type Monitor } from './early-stopping.js';
import type { Callback } from './types.js';
import type { EpochLogs } from '../../run/metrics.js';

export class BestModel implements Callback {
  best?: EpochLogs;
  private weights: tf.Tensor[] = [];

  constructor(
    private readonly model: tf.LayersModel,
    private readonly monitor: Monitor,
    /** Called after a new best epoch, e.g. to write it to disk. */
    private readonly onImprove?: (logs: EpochLogs) => Promise<void>,
  ) {}

  async onEpochEnd(l: EpochLogs): Promise<void> {
    if (!improves(this.monitor, l[this.monitor], this.best ? this.best[this.monitor] : NaN)) return;
    this.best = l;
    tf.dispose(this.weights);
    this.weights = this.model.getWeights().map((w) => w.clone());
    await this.onImprove?.(l);
  }

  /** Copies of the best epoch's weights (empty before any epoch ended). */
  snapshot(): readonly tf.Tensor[] {
    return this.weights;
  }

  /** Replaces the snapshot (resume) with copies of `weights`. */
  restore(best: EpochLogs, weights: readonly tf.Tensor[]): void {
    this.best = best;
    tf.dispose(this.weights);
    this.weights = weights.map((w) => w.clone());
  }

  dispose(): void {
    tf.dispose(this.weights);
    this.weights = [];
  }
}
