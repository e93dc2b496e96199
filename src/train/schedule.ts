// Learning-rate schedules: constant, step (divide at milestones, as the paper), cosine, reduce-on-plateau; warm-up.
import type { TrainConfig } from '../config/schema.js';

export interface ScheduleState {
  /** reduce-on-plateau: current rate, best monitored loss and epochs since it improved. */
  plateauLr: number;
  best: number;
  bad: number;
}

/** Gives the learning rate of each epoch (0-based); plateau also needs each epoch's validation loss. */
export class LrSchedule {
  private st: ScheduleState;

  constructor(
    private readonly cfg: TrainConfig['schedule'],
    private readonly baseLr: number,
    private readonly epochs: number,
  ) {
    this.st = { plateauLr: baseLr, best: Infinity, bad: 0 };
  }

  /** Rate for epoch `e` (0-based). */
  lr(e: number): number {
    const { cfg, baseLr } = this;
    if (cfg.warmupEpochs > 0 && e < cfg.warmupEpochs) {
      // Linear from baseLr/10 to baseLr over the warm-up epochs.
      return baseLr * (0.1 + (0.9 * e) / cfg.warmupEpochs);
    }
    switch (cfg.name) {
      case 'constant':
        return baseLr;
      case 'step': {
        // Milestone m: the rate drops after m epochs, i.e. from 0-based epoch m on.
        const drops = cfg.milestones.filter((m) => e >= m).length;
        return baseLr * cfg.gamma ** drops;
      }
      case 'cosine': {
        const span = Math.max(1, this.epochs - cfg.warmupEpochs);
        const t = (e - cfg.warmupEpochs) / span;
        return cfg.minLr + 0.5 * (baseLr - cfg.minLr) * (1 + Math.cos(Math.PI * t));
      }
      case 'plateau':
        return this.st.plateauLr;
    }
  }

  /** Feeds the epoch's validation loss (plateau only; others ignore it). */
  observe(valLoss: number): void {
    if (this.cfg.name !== 'plateau' || !Number.isFinite(valLoss)) return;
    if (valLoss < this.st.best) {
      this.st.best = valLoss;
      this.st.bad = 0;
    } else if (++this.st.bad >= this.cfg.patience) {
      this.st.plateauLr = Math.max(this.cfg.minLr, this.st.plateauLr * this.cfg.gamma);
      this.st.bad = 0;
    }
  }

  state(): ScheduleState {
    return { ...this.st };
  }

  load(st: ScheduleState): void {
    this.st = { ...st };
  }
}
