// Measures one job in this process: NIN on CIFAR-10 shapes, the training loop's own step and inference, on one backend.
import * as tf from '@tensorflow/tfjs';

import { applyPrecision } from '../backend/precision.js';
import { selectBackend } from '../backend/select.js';
import { buildModel, logitsModel } from '../models/registry.js';
import { createOptimizer } from '../train/optimizer.js';
import { decayedVariableNames, dropoutLayers, seedDropout, trainableVariables, trainStep } from '../train/step.js';
import { median, spread } from '../util/stats.js';
import { benchConfig } from './config.js';
import { profileStep } from './profile.js';
import type { BenchJob, BenchResult } from './types.js';

const INPUT: [number, number, number] = [32, 32, 3];
const CLASSES = 10;

/** Wall and CPU milliseconds (all threads of this process) of one call. */
async function timeIt(f: () => Promise<void>): Promise<{ wall: number; cpu: number }> {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  await f();
  const wall = performance.now() - t0;
  const c = process.cpuUsage(c0);
  return { wall, cpu: (c.user + c.system) / 1000 };
}

/** Runs warm-up then timed training steps and inference passes; all tensors are disposed before it returns. */
export async function measureJob(job: BenchJob): Promise<BenchResult> {
  const info = await selectBackend(job.backend, { threads: job.threads, warn: () => undefined });
  applyPrecision(job.precision ?? 'fp32', info.name, () => undefined);
  const config = benchConfig(job.head);
  const built = buildModel(config.model, { inputShape: INPUT, numClasses: CLASSES }, job.seed);
  const net = logitsModel(built);
  const x = tf.randomNormal([job.batch, ...INPUT], 0, 1, 'float32', job.seed) as tf.Tensor4D;
  const y = tf.randomUniform([job.batch], 0, CLASSES, 'int32', job.seed) as tf.Tensor1D;
  const optimizer = createOptimizer(config.train.optimizer, config.model.weightDecay);
  const ctx = { net, optimizer, vars: trainableVariables(net), decay: decayedVariableNames(net) };
  const drops = dropoutLayers(net);

  // The training loop's own step (src/train/loop.ts): per-batch dropout seeds, trainStep with the config's optimizer
  // and weight decay, loss and correct count read back once (asynchronously, as every backend allows).
  let n = 0;
  const step = async () => {
    seedDropout(drops, job.seed, 0, n++);
    await trainStep(ctx, x, y);
  };
  // Inference on the whole batch in one pass, as the PyTorch peer runs it (predict's default would split it into 32s).
  const infer = async () => {
    const p = tf.tidy(() => built.model.predict(x, { batchSize: job.batch }) as tf.Tensor);
    await p.data();
    p.dispose();
  };
  const timed = async (f: () => Promise<void>) => {
    const out: Array<{ wall: number; cpu: number }> = [];
    for (let i = 0; i < job.steps; i++) out.push(await timeIt(f));
    return out;
  };

  try {
    for (let i = 0; i < job.warmup; i++) await step();
    const trainT = await timed(step);
    for (let i = 0; i < job.warmup; i++) await infer();
    const inferT = await timed(infer);
    const train = spread(trainT.map((t) => t.wall)), inference = spread(inferT.map((t) => t.wall));
    const trainCpu = median(trainT.map((t) => t.cpu)), inferCpu = median(inferT.map((t) => t.cpu));
    const profile = job.profile ? await profileStep(step) : undefined;
    return {
      job,
      backend: info.name,
      detail: info.detail,
      params: built.params.total,
      trainImagesPerS: (job.batch * 1000) / train.median,
      inferImagesPerS: (job.batch * 1000) / inference.median,
      trainStepMs: train,
      inferMs: inference,
      trainImagesPerCpuS: (job.batch * 1000) / trainCpu,
      inferImagesPerCpuS: (job.batch * 1000) / inferCpu,
      peakRssMiB: process.resourceUsage().maxRSS / 1024,
      ...(profile ? { profile } : {}),
    };
  } finally {
    tf.dispose([x, y]);
    optimizer.dispose();
    net.dispose();
    built.model.dispose();
  }
}
