// Writes resume checkpoints: at every epoch end, every N minutes within an epoch, and when training stops.
import { writeCheckpoint, type ResumableParts } from '../checkpoint.js';
import type { Callback, TrainState } from './types.js';

export interface CheckpointerDeps extends ResumableParts {
  configSha256: string;
  /** Minutes between mid-epoch checkpoints; 0 = epoch ends only. */
  everyMinutes: number;
}

export class Checkpointer implements Callback {
  private last = Date.now();

  constructor(private readonly d: CheckpointerDeps) {}

  /** Saves the loop at a position: (epoch, batch) is the next batch to run. */
  private async save(s: TrainState, epoch: number, batch: number, accum: TrainState['accum']): Promise<void> {
    const d = this.d;
    await writeCheckpoint(
      d.runDir,
      {
        epoch, batch, accum, history: s.history,
        schedule: d.schedule.state(), earlyStopping: { ...d.earlyStopping.st },
        ...(d.best.best ? { best: d.best.best } : {}),
        optimizerStep: d.optimizer.state().step, configSha256: d.configSha256,
      },
      d.model.getWeights(),
      d.best.snapshot(),
      d.optimizer,
      d.vars,
    );
    this.last = Date.now();
  }

  async onBatchEnd(_l: unknown, s: TrainState): Promise<void> {
    const every = this.d.everyMinutes;
    if (every > 0 && s.batch < s.batchesPerEpoch && Date.now() - this.last >= every * 60_000) {
      await this.save(s, s.epoch, s.batch, { ...s.accum });
    }
  }

  async onEpochEnd(_l: unknown, s: TrainState): Promise<void> {
    await this.save(s, s.epoch + 1, 0, { lossSum: 0, correct: 0, seen: 0, seconds: 0 });
  }

  /** An interrupt mid-epoch: save the exact position (an epoch end was saved already). */
  async onTrainEnd(s: TrainState): Promise<void> {
    if (s.batch > 0 && s.batch < s.batchesPerEpoch) await this.save(s, s.epoch, s.batch, { ...s.accum });
  }
}
