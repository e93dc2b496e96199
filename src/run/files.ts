// The run folder's names: every file and folder train writes and compare, cam and the CLI read, in one table.
import fs from 'node:fs';
import path from 'node:path';

/**
 * What a run folder holds, by role. Only src/run/ spells these; everything else asks it for a path or a reader.
 * checkpoint/ is written complete as checkpoint.tmp/ and renamed into place; the one it replaces stays as
 * checkpoint.old/ (src/train/checkpoint.ts).
 */
export const RUN_FILES = {
  /** The resolved config, every default filled in (src/run/config.ts). */
  config: 'config.yaml',
  /** Status, sizes, results (src/run/summary.ts). */
  summary: 'summary.json',
  /** One row per epoch (src/run/metrics.ts). */
  metrics: 'metrics.csv',
  /** The class names, in label order. */
  classes: 'classes.json',
  /** The fitted input preprocessing. */
  preprocessing: 'preprocessing.json',
  /** Final weights (tfjs format). */
  finalModel: 'model',
  /** Weights of the best validation epoch. */
  bestModel: 'model-best',
  /** The resume checkpoint, the previous one, and the one being written. */
  newestCheckpoint: 'checkpoint',
  previousCheckpoint: 'checkpoint.old',
  partialCheckpoint: 'checkpoint.tmp',
  /** Written last into a checkpoint folder: its presence marks the checkpoint complete. */
  checkpointState: 'state.json',
  /** stdout and stderr of a compare worker. */
  log: 'train.log',
  /** Why a compare worker ended without recording an error in summary.json. */
  workerError: 'worker-error.txt',
} as const;

export type RunFile = keyof typeof RUN_FILES;

/** `<runDir>/<name of file>`. */
export function runPath(runDir: string, file: RunFile): string {
  return path.join(runDir, RUN_FILES[file]);
}

/** 'final': model/ (last epoch); 'best': model-best/ (best validation epoch). */
export type WeightsChoice = 'final' | 'best';
export const WEIGHTS_CHOICES = ['final', 'best'] as const;

/** The saved model folder of a run for `weights`. */
export function modelDir(runDir: string, weights: WeightsChoice): string {
  return runPath(runDir, weights === 'best' ? 'bestModel' : 'finalModel');
}

/** The newest complete checkpoint folder of a run (checkpoint/, else checkpoint.old/ if a swap was cut short), if any. */
export function checkpointDir(runDir: string): string | undefined {
  for (const d of [runPath(runDir, 'newestCheckpoint'), runPath(runDir, 'previousCheckpoint')]) {
    if (fs.existsSync(path.join(d, RUN_FILES.checkpointState))) return d;
  }
  return undefined;
}
