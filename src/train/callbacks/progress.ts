// Progress: a bar per epoch (loss, accuracy, images/s, ETA) on a terminal, one plain line per epoch otherwise.
import cliProgress from 'cli-progress';
import type { BatchLogs, Callback, TrainState } from './types.js';
import type { EpochLogs } from '../../run/metrics.js';

/**
 * One line per epoch. The train-eval part shows what the extra inference pass cost, in seconds and as a share of the
 * epoch, so a large train.trainEvalSize is noticed; it is left out when the pass is off.
 */
export function formatEpochLine(l: EpochLogs, epochs: number): string {
  const f = (x: number, d = 4) => (Number.isFinite(x) ? x.toFixed(d) : String(x));
  const trainEval = Number.isNaN(l.train_eval_acc)
    ? ''
    : `train_eval_loss ${f(l.train_eval_loss)}  train_eval_acc ${f(l.train_eval_acc)} ` +
      `(eval ${l.train_eval_seconds.toFixed(1)}s, ${((100 * l.train_eval_seconds) / l.epoch_seconds).toFixed(0)}%)  `;
  return (
    `epoch ${l.epoch}/${epochs}  lr ${l.lr.toPrecision(3)}  loss ${f(l.train_loss)}  acc ${f(l.train_acc)}  ${trainEval}` +
    `val_loss ${f(l.val_loss)}  val_acc ${f(l.val_acc)}  gap ${f(l.gap_acc)}  ${l.epoch_seconds.toFixed(1)}s  ` +
    `${l.images_per_second.toFixed(0)} img/s`
  );
}

export class Progress implements Callback {
  private bar?: cliProgress.SingleBar;

  constructor(
    private readonly log: (line: string) => void,
    /** Draw a live bar (only on a TTY). */
    private readonly live: boolean = Boolean(process.stderr.isTTY),
  ) {}

  onEpochBegin(s: TrainState): void {
    if (!this.live) return;
    this.bar = new cliProgress.SingleBar(
      {
        format: `epoch ${s.epoch + 1}/${s.epochs} [{bar}] {percentage}% | loss {loss} acc {acc} | {ips} img/s | ETA {eta_formatted}`,
        stream: process.stderr,
        hideCursor: true,
        clearOnComplete: true,
      },
      cliProgress.Presets.shades_classic,
    );
    this.bar.start(s.batchesPerEpoch, s.batch, { loss: '-', acc: '-', ips: '-' });
  }

  onBatchEnd(l: BatchLogs): void {
    this.bar?.update(l.batch + 1, { loss: l.epochLoss.toFixed(4), acc: l.epochAcc.toFixed(4), ips: l.imagesPerSecond.toFixed(0) });
  }

  onEpochEnd(l: EpochLogs, s: TrainState): void {
    this.bar?.stop();
    this.bar = undefined;
    this.log(formatEpochLine(l, s.epochs));
  }

  onTrainEnd(): void {
    this.bar?.stop();
  }
}
