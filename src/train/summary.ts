// summary.json: what a run was (config, backend, sizes, parameters) and what it measured (best, final, test).
import fs from 'node:fs';
import path from 'node:path';
import type { AdapterSummary } from '../backend/webgpu/dawn.js';
import type { EpochLogs } from './callbacks/types.js';

export type RunStatus = 'running' | 'completed' | 'failed' | 'diverged' | 'interrupted';

export interface TestResult {
  loss: number;
  acc: number;
  /** 1 - acc, the paper's metric. */
  error: number;
}

export interface RunSummary {
  status: RunStatus;
  experiment: string;
  runId: string;
  runDir: string;
  /** The config file named on the command line and the sha256 of the resolved config.yaml. */
  configFile?: string;
  configSha256: string;
  /** The backend and its detail line; for webgpu also the adapter (vendor, architecture, device, description, API). */
  backend?: { name: string; requested: string; detail: string; adapter?: AdapterSummary };
  /** Arithmetic of convolutions and matmuls in this run (train.precision with `auto` resolved). */
  precision?: 'fp32' | 'bf16';
  model: { body: string; head: string; params?: { total: number; body: number; head: number } };
  /** Image counts per split; trainEval is the fixed training sample behind train_eval_* (0 when that pass is off). */
  dataset?: { name: string; classes: number; train: number; val: number; trainEval: number; test: number; imageShape: number[] };
  epochsRun: number;
  stopReason?: string;
  /** Epoch with the best monitored validation metric. */
  best?: EpochLogs;
  /** Last epoch's row. */
  final?: EpochLogs;
  test?: { final: TestResult; best: TestResult };
  wallSeconds: number;
  /** Mean training images/s over the epochs. */
  imagesPerSecond?: number;
  startedAt: string;
  finishedAt?: string;
  versions: { gaplab: string; tfjs: string; node: string };
  error?: string;
}

export function testResult(r: { loss: number; acc: number }): TestResult {
  return { loss: r.loss, acc: r.acc, error: 1 - r.acc };
}

/** Parses a run folder's summary.json, or undefined when it is absent or unreadable (it is written atomically). */
export function readSummary(runDir: string): RunSummary | undefined {
  try {
    return JSON.parse(fs.readFileSync(path.join(runDir, 'summary.json'), 'utf8')) as RunSummary;
  } catch {
    return undefined;
  }
}

/**
 * What a resumed run starts its summary from: the folder's summary.json (results so far, the config file named at
 * the start) without the outcome of the attempt that stopped.
 */
export function carriedOver(prev: RunSummary | undefined): Partial<RunSummary> {
  const kept: Partial<RunSummary> = { ...prev };
  for (const k of ['status', 'stopReason', 'error', 'finishedAt', 'test'] as const) delete kept[k];
  return kept;
}
