// A run's first steps: the backend and precision, and the data (split, train-eval sample, fitted preprocessing).
import { applyPrecision } from '../backend/precision.js';
import { selectBackend, type BackendInfo } from '../backend/select.js';
import type { Config } from '../config/schema.js';
import { fitPreprocessor, type Preprocessor } from '../data/preprocess.js';
import { dataCacheDir, loadDataset } from '../data/registry.js';
import { splitTrainVal } from '../data/split.js';
import type { ImageSet } from '../data/types.js';
import type { RunSummary } from '../run/summary.js';
import { trainEvalCount, trainEvalSample } from './train-eval.js';

export interface Say {
  /** Progress and result lines (stdout). */
  log: (line: string) => void;
  /** Warnings (stderr). */
  warn: (line: string) => void;
}

/** Selects the configured backend and resolves train.precision on it; logs both. */
export async function setUpBackend(config: Config, say: Say): Promise<{ backend: BackendInfo; precision: 'fp32' | 'bf16' }> {
  const backend = await selectBackend(config.backend, {
    threads: config.threads, warn: say.warn, info: say.log, ...(config.webgpu?.adapter ? { webgpuAdapter: config.webgpu.adapter } : {}),
  });
  say.log(`backend: ${backend.name} (${backend.detail})`);
  const precision = applyPrecision(config.train.precision, backend.name, say.log);
  if (precision === 'bf16') say.log('precision: bf16 (convolutions and matmuls in bfloat16 where faster; fp32 weights, optimizer and loss)');
  return { backend, precision };
}

/** What training reads: the splits, the fixed train-eval sample of `train`, and the preprocessing fitted on `train`. */
export interface TrainingData {
  name: string;
  classNames: string[];
  train: ImageSet;
  val: ImageSet;
  /** Evaluated in inference mode at each epoch end (train-eval.ts); empty when train.trainEvalSize is 0. */
  trainEval: ImageSet;
  test: ImageSet;
  pre: Preprocessor;
}

/** Loads the dataset, splits off validation, picks the train-eval sample and fits the preprocessing. */
export async function loadTrainingData(config: Config, say: Say): Promise<TrainingData> {
  // The loaded training set is split into copies and dropped here: kept, it would hold the whole set a second time
  // (154 MB for CIFAR-10) for the whole run.
  const { train: all, name, classNames, test } = await loadDataset(config.data, config.seed, say.log);
  const { train, val } = splitTrainVal(all, config.data.validationSize, config.seed);
  const trainEval = trainEvalSample(train, trainEvalCount(config.train.trainEvalSize, train.n, val.n), config.seed);
  const pre = fitPreprocessor(config.data.preprocessing, train, { cacheDir: dataCacheDir(config.data), log: say.log, warn: say.warn });
  return { name, classNames, train, val, trainEval, test, pre };
}

/** summary.json's `dataset`: image counts per split and the image shape. */
export function datasetSummary(d: TrainingData): NonNullable<RunSummary['dataset']> {
  return {
    name: d.name, classes: d.classNames.length, train: d.train.n, val: d.val.n, trainEval: d.trainEval.n, test: d.test.n,
    imageShape: [d.train.height, d.train.width, d.train.channels],
  };
}
