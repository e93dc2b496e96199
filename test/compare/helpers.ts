// Test helpers for compare: temporary folders, suite files, fixture run folders written as runTraining would, and the
// compare CLI as a child process.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import YAML from 'yaml';
import { configToYaml } from '../../src/config/load.js';
import type { RunSpec } from '../../src/compare/plan.js';
import type { EpochLogs } from '../../src/run/metrics.js';
import type { RunStatus, RunSummary } from '../../src/run/summary.js';

export function tmpDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `gaplab-${prefix}-`));
}

/** Writes a suite YAML into `dir` and returns its path. */
export function writeSuite(dir: string, name: string, suite: Record<string, unknown>): string {
  const file = path.join(dir, `${name}.yaml`);
  fs.writeFileSync(file, YAML.stringify(suite));
  return file;
}

/** The config overrides that make the built-in data and NIN tiny (for end-to-end tests on the cpu backend). */
export const TINY = {
  backend: 'cpu',
  data: { synthetic: { classes: 3, trainSize: 48, testSize: 24, imageSize: 8 }, validationSize: 12, augmentation: { crop: 0, flip: false } },
  model: { nin: { width: 0.05, blocks: 1 } },
  train: { epochs: 1, batchSize: 16, evalBatchSize: 32, checkpointMinutes: 0 },
};

export interface FixtureRun {
  status: RunStatus;
  /** Test error of the best-validation checkpoint; the final model's is error + 0.01. */
  error?: number;
  /**
   * Per-epoch (train_acc, val_acc, train_loss, val_loss[, train_eval_acc, train_eval_loss]). Without the last two the
   * rows are as runs wrote them before the train-eval pass: gap_acc = train_acc - val_acc and no train_eval fields.
   */
  epochs?: EpochTuple[];
  bestEpoch?: number;
  params?: { total: number; body: number; head: number };
  wallSeconds?: number;
  message?: string;
}

type EpochTuple = [number, number, number, number] | [number, number, number, number, number, number];
type TrainEvalKey = 'train_eval_acc' | 'train_eval_loss' | 'train_eval_seconds';
/** An epoch row as summary.json holds it, with or without the train-eval fields (compiles before and after they exist). */
type FixtureLogs = Omit<EpochLogs, TrainEvalKey> & Partial<Record<TrainEvalKey, number>>;

function logs(epoch: number, [ta, va, tl, vl, tea, tel]: EpochTuple): FixtureLogs {
  const common = { epoch, lr: 0.01, train_acc: ta, val_acc: va, train_loss: tl, val_loss: vl, epoch_seconds: 1, images_per_second: 100 };
  if (tea === undefined || tel === undefined) return { ...common, gap_acc: ta - va, gap_loss: vl - tl };
  return { ...common, train_eval_acc: tea, train_eval_loss: tel, train_eval_seconds: 0.1, gap_acc: tea - va, gap_loss: vl - tel };
}

/** Writes config.yaml, summary.json and metrics.csv into spec.runDir as a run with these results would have. */
export function writeFixtureRun(spec: RunSpec, f: FixtureRun): void {
  fs.mkdirSync(spec.runDir, { recursive: true });
  fs.writeFileSync(path.join(spec.runDir, 'config.yaml'), configToYaml(spec.config));
  const history = (f.epochs ?? []).map((e, i) => logs(i + 1, e));
  const best = history.find((h) => h.epoch === (f.bestEpoch ?? history.length));
  const summary: Omit<RunSummary, 'best' | 'final'> & { best?: FixtureLogs; final?: FixtureLogs } = {
    status: f.status, experiment: spec.config.experiment ?? 'x', runId: path.basename(spec.runDir), runDir: spec.runDir,
    configSha256: spec.configSha256,
    backend: { name: 'cpu', requested: 'cpu', detail: 'fixture' },
    model: { body: spec.config.model.body, head: spec.config.model.head, ...(f.params ? { params: f.params } : {}) },
    epochsRun: history.length,
    ...(best ? { best } : {}),
    ...(history.length ? { final: history[history.length - 1] } : {}),
    ...(f.error !== undefined
      ? { test: { best: { loss: 2 * f.error, acc: 1 - f.error, error: f.error }, final: { loss: 2 * f.error + 0.02, acc: 0.99 - f.error, error: f.error + 0.01 } } }
      : {}),
    wallSeconds: f.wallSeconds ?? 10,
    imagesPerSecond: 100,
    startedAt: '2026-01-01T00:00:00.000Z',
    versions: { gaplab: 'test', tfjs: 'test', node: process.version },
    ...(f.message ? { error: f.message } : {}),
  };
  fs.writeFileSync(path.join(spec.runDir, 'summary.json'), JSON.stringify(summary, null, 2));
  const cols = [
    'epoch', 'lr', 'train_loss', 'train_acc', 'train_eval_loss', 'train_eval_acc', 'val_loss', 'val_acc', 'gap_acc', 'gap_loss',
    'epoch_seconds', 'train_eval_seconds', 'images_per_second',
  ] as const;
  fs.writeFileSync(path.join(spec.runDir, 'metrics.csv'), [cols.join(','), ...history.map((h) => cols.map((c) => h[c] ?? '').join(','))].join('\n') + '\n');
}

const COMPARE = path.resolve('src/cli/compare.ts');

/** `compare` as one node process (`npm run compare` adds tsx's relay process in front); output kept for messages. */
export function startCompare(suite: string, outputDir: string, extra: string[] = []): { child: ChildProcess; output: () => string; exit: Promise<number | null> } {
  const child = spawn(process.execPath, ['--import', 'tsx', COMPARE, '--suite', suite, '--output-dir', outputDir, '--no-report', ...extra], {
    // A fixed convolution layout: bit-identical results in every process without timing the layouts.
    env: { ...process.env, GAPLAB_CONV_LAYOUT: 'plain' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let text = '';
  child.stdout!.on('data', (d: Buffer) => (text += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (text += d.toString()));
  const exit = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  return { child, output: () => text, exit };
}

/** How many times a run was started in its folder (runTraining logs the folder once per start or resume). */
export function starts(spec: RunSpec): number {
  const log = path.join(spec.runDir, 'train.log');
  return fs.existsSync(log) ? fs.readFileSync(log, 'utf8').split('\n').filter((l) => l.startsWith('run folder: ')).length : 0;
}
