// Start-up of a real training run (npm run train's runTraining): seconds from process start to the first training step,
// the first steps' times and peak RSS; the full-size CIFAR-10 figures of docs/native-backend.md come from it.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Config } from '../config/schema.js';
import { runTraining } from '../train/run.js';
import { median } from '../util/stats.js';

export interface StartupFigures {
  /** Process start to the training loop's first batch: imports, data, preprocessing fit, model, run folder. */
  toFirstStep: number;
  /** Process start to the end of the first training step. */
  toFirstStepEnd: number;
  /** Seconds of each step after the first (the first includes oneDNN's JIT and layout timing). */
  stepSeconds: number[];
  batchesPerEpoch: number;
  /** batchesPerEpoch x the median step: one epoch's training batches, without the evaluation passes. */
  epochTrainSeconds: number;
  /** Peak resident set of the whole process, MiB. */
  peakRssMiB: number;
  /** Peak resident set before the first step (data, preprocessing fit, model): what training adds is the rest. */
  peakRssBeforeTrainingMiB: number;
  /** Resident set as the first step starts: what stays of the data and preprocessing while training. */
  rssAtFirstStepMiB: number;
}

/**
 * Trains `config` for `steps` batches (then stops it as Ctrl-C would) in a temporary output folder, and reports when
 * each step ended, counted from process start. The run's own lines go to `log`.
 */
export async function measureStartup(config: Config, steps: number, log: (line: string) => void): Promise<StartupFigures> {
  const outputDir = fs.mkdtempSync(path.join(os.tmpdir(), 'gaplab-startup-'));
  const stop = new AbortController();
  let toFirstStep = Number.NaN;
  let batchesPerEpoch = 0;
  let peakBefore = Number.NaN;
  let rssAtFirstStep = Number.NaN;
  const ends: number[] = [];
  try {
    await runTraining({ ...config, outputDir }, {
      log, warn: log, live: false, signal: stop.signal,
      callbacks: [{
        onEpochBegin: (s) => {
          if (Number.isNaN(toFirstStep)) {
            toFirstStep = process.uptime();
            peakBefore = process.resourceUsage().maxRSS / 1024;
            rssAtFirstStep = process.memoryUsage().rss / 2 ** 20;
          }
          batchesPerEpoch = s.batchesPerEpoch;
        },
        onBatchEnd: () => {
          ends.push(process.uptime());
          if (ends.length >= steps) stop.abort();
        },
      }],
    });
  } finally {
    fs.rmSync(outputDir, { recursive: true, force: true });
  }
  const stepSeconds = ends.slice(1).map((t, i) => t - ends[i]);
  return {
    toFirstStep,
    toFirstStepEnd: ends[0] ?? Number.NaN,
    stepSeconds,
    batchesPerEpoch,
    epochTrainSeconds: batchesPerEpoch * (stepSeconds.length ? median(stepSeconds) : Number.NaN),
    peakRssMiB: process.resourceUsage().maxRSS / 1024,
    peakRssBeforeTrainingMiB: peakBefore,
    rssAtFirstStepMiB: rssAtFirstStep,
  };
}
