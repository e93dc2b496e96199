// The training loop: epochs of seeded, augmented batches, epoch-end evaluations, lr schedule, callbacks; nothing else.
import * as tf from '@tensorflow/tfjs';
import type { Config } from '../config/schema.js';
import { batches, numBatches } from '../data/batches.js';
import type { Preprocessor } from '../data/preprocess.js';
import type { ImageSet } from '../data/types.js';
import type { Callback, EpochAccum, TrainState } from './callbacks/types.js';
import type { EpochLogs } from '../run/metrics.js';
import { evaluate } from './evaluate.js';
import type { Optimizer } from './optimizer.js';
import type { LrSchedule } from './schedule.js';
import { decayedVariableNames, dropoutLayers, seedDropout, trainableVariables, trainStep } from './step.js';

/** A NaN or infinite loss: the run stops and keeps its last good checkpoint. */
export class DivergedError extends Error {
  constructor(
    readonly epoch: number,
    readonly batch: number,
    readonly lr: number,
    readonly loss: number,
  ) {
    super(`training diverged: loss ${loss} at epoch ${epoch + 1}, batch ${batch + 1} (learning rate ${lr}); lower train.optimizer.lr`);
    this.name = 'DivergedError';
  }
}

export interface FitOptions {
  /** Logits model (shares weights with the softmax model that is saved). */
  net: tf.LayersModel;
  optimizer: Optimizer;
  schedule: LrSchedule;
  train: ImageSet;
  val: ImageSet;
  /** Fixed sample of `train` evaluated in inference mode at each epoch end (train-eval.ts); empty turns that off. */
  trainEval: ImageSet;
  pre: Preprocessor;
  config: Config;
  callbacks: Callback[];
  /** Resume position: epoch (0-based) and batch within it, with the partial epoch's sums and the history so far. */
  start?: { epoch: number; batch: number; accum: EpochAccum; history: EpochLogs[] };
}

const emptyAccum = (): EpochAccum => ({ lossSum: 0, correct: 0, seen: 0, seconds: 0 });

async function each(cbs: Callback[], f: (cb: Callback) => void | Promise<void>): Promise<void> {
  for (const cb of cbs) await f(cb);
}

/** Runs the epochs; returns the loop state (history, stop reason). */
export async function fit(o: FitOptions): Promise<TrainState> {
  const { config, net, optimizer, schedule, callbacks } = o;
  const { batchSize, epochs, evalBatchSize } = config.train;
  const vars = trainableVariables(net);
  const decay = decayedVariableNames(net);
  const drops = dropoutLayers(net);
  const s: TrainState = {
    epochs,
    batchesPerEpoch: numBatches(o.train.n, batchSize),
    trainSize: o.train.n,
    epoch: o.start?.epoch ?? 0,
    batch: o.start?.batch ?? 0,
    accum: o.start ? { ...o.start.accum } : emptyAccum(),
    history: o.start ? [...o.start.history] : [],
    stop: false,
  };
  await each(callbacks, (cb) => cb.onTrainBegin?.(s));
  for (; s.epoch < epochs && !s.stop; s.epoch++) {
    const lr = schedule.lr(s.epoch);
    optimizer.lr = lr;
    await each(callbacks, (cb) => cb.onEpochBegin?.(s));
    const it = batches(o.train, {
      batchSize,
      pre: o.pre,
      shuffle: { seed: config.seed, epoch: s.epoch },
      augment: config.data.augmentation,
      startBatch: s.batch,
    });
    // Wall time per batch includes making it (augmentation, preprocessing), not only the step.
    let tPrev = performance.now();
    for (const b of it) {
      seedDropout(drops, config.seed, s.epoch, s.batch);
      const r = await trainStep({ net, optimizer, vars, decay }, b.x, b.y);
      tf.dispose([b.x, b.y]);
      if (!Number.isFinite(r.loss)) throw new DivergedError(s.epoch, s.batch, lr, r.loss);
      const a = s.accum;
      a.lossSum += r.loss * b.size;
      a.correct += r.correct;
      a.seen += b.size;
      a.seconds += (performance.now() - tPrev) / 1000;
      const logs = {
        batch: s.batch, size: b.size, loss: r.loss, acc: r.correct / b.size,
        epochLoss: a.lossSum / a.seen, epochAcc: a.correct / a.seen, imagesPerSecond: a.seen / a.seconds,
      };
      s.batch++;
      // Let signal handlers and timers (lock refresh) run: a batch is synchronous tensor work, so without this a
      // Ctrl-C would wait for the epoch's end. Costs ~10 us a batch (measured on the 2-core machine), a batch >= 1 ms.
      await new Promise(setImmediate);
      await each(callbacks, (cb) => cb.onBatchEnd?.(logs, s));
      tPrev = performance.now(); // callbacks (checkpoints, progress) are not training time
      if (s.stop) break;
    }
    if (s.batch < s.batchesPerEpoch) break; // interrupted mid-epoch: no epoch row, the checkpoint holds the position
    const t0 = performance.now();
    const v = await evaluate(net, o.val, o.pre, evalBatchSize);
    // The same weights on training images, also in inference mode: the gap then measures overfitting alone, not
    // dropout and augmentation (which lower the running train_acc) nor the weights moving during the epoch.
    const t1 = performance.now();
    const te = await evaluate(net, o.trainEval, o.pre, evalBatchSize);
    const teSeconds = o.trainEval.n > 0 ? (performance.now() - t1) / 1000 : 0;
    const a = s.accum;
    const logs: EpochLogs = {
      epoch: s.epoch + 1, lr,
      train_loss: a.lossSum / a.seen, train_acc: a.correct / a.seen,
      train_eval_loss: te.loss, train_eval_acc: te.acc, val_loss: v.loss, val_acc: v.acc,
      gap_acc: te.acc - v.acc, gap_loss: v.loss - te.loss,
      epoch_seconds: a.seconds + (performance.now() - t0) / 1000, train_eval_seconds: teSeconds,
      images_per_second: a.seen / a.seconds,
    };
    schedule.observe(v.loss);
    s.history.push(logs);
    await each(callbacks, (cb) => cb.onEpochEnd?.(logs, s));
    s.batch = 0;
    s.accum = emptyAccum();
  }
  await each(callbacks, (cb) => cb.onTrainEnd?.(s));
  return s;
}
