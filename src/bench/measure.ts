// Measures one job in this process: NIN on CIFAR-10 shapes, training step and inference throughput on one backend.
import * as tf from '@tensorflow/tfjs';

import { selectBackend } from '../backend/select.js';
import { defaultConfig } from '../config/schema.js';
import { buildModel, logitsModel } from '../models/registry.js';
import { profileStep } from './profile.js';
import type { BenchJob, BenchResult } from './types.js';

const INPUT: [number, number, number] = [32, 32, 3];
const CLASSES = 10;

function stats(ms: number[]): { median: number; min: number; max: number } {
  const s = [...ms].sort((a, b) => a - b);
  const mid = s.length >> 1;
  const median = s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
  return { median, min: s[0]!, max: s[s.length - 1]! };
}

/** Wall and CPU milliseconds (all threads of this process) of one call. */
function timeIt(f: () => void): { wall: number; cpu: number } {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  f();
  const wall = performance.now() - t0;
  const c = process.cpuUsage(c0);
  return { wall, cpu: (c.user + c.system) / 1000 };
}

/** Runs warm-up then timed training steps and inference passes; all tensors are disposed before it returns. */
export async function measureJob(job: BenchJob): Promise<BenchResult> {
  const info = await selectBackend(job.backend, { threads: job.threads, warn: () => undefined });
  const cfg = defaultConfig().model;
  cfg.body = 'nin';
  cfg.head = job.head;
  const built = buildModel(cfg, { inputShape: INPUT, numClasses: CLASSES }, job.seed);
  const logits = logitsModel(built);
  const x = tf.randomNormal([job.batch, ...INPUT], 0, 1, 'float32', job.seed);
  const y = tf.tidy(() => tf.oneHot(tf.randomUniform([job.batch], 0, CLASSES, 'int32', job.seed), CLASSES));
  const opt = tf.train.momentum(0.01, 0.9);

  // The training step: forward on the logits model in training mode, softmax cross-entropy,
  // gradients of every trainable variable, SGD-momentum update. dataSync() waits for the loss like a real loop.
  const step = () => {
    const loss = tf.tidy(() => {
      const { value, grads } = tf.variableGrads(
        () => tf.losses.softmaxCrossEntropy(y, logits.apply(x, { training: true }) as tf.Tensor) as tf.Scalar);
      opt.applyGradients(Object.entries(grads).map(([name, tensor]) => ({ name, tensor })));
      return value;
    });
    loss.dataSync();
    loss.dispose();
  };
  const infer = () => {
    const p = tf.tidy(() => built.model.predict(x) as tf.Tensor);
    p.dataSync();
    p.dispose();
  };

  try {
    for (let i = 0; i < job.warmup; i++) step();
    const trainT = Array.from({ length: job.steps }, () => timeIt(step));
    for (let i = 0; i < job.warmup; i++) infer();
    const inferT = Array.from({ length: job.steps }, () => timeIt(infer));
    const train = stats(trainT.map((t) => t.wall)), inference = stats(inferT.map((t) => t.wall));
    const trainCpu = stats(trainT.map((t) => t.cpu)).median, inferCpu = stats(inferT.map((t) => t.cpu)).median;
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
    opt.dispose();
    logits.dispose();
    built.model.dispose();
  }
}
