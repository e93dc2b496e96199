// summary.json: what a run was (config, backend, sizes, parameters) and what it measured (best, final, test).
import fs from 'node:fs';
import type { AdapterSummary } from '../backend/webgpu/dawn.js';
import { writeJson } from '../io/durable-write.js';
import { runPath } from './files.js';
import { upgradeLogs, type EpochLogs, type StoredLogs } from './metrics.js';

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

const RUN_STATUSES: readonly string[] = ['running', 'completed', 'failed', 'diverged', 'interrupted'] satisfies RunStatus[];

/**
 * A run folder's summary.json, or undefined when it is absent, unreadable or not a summary (no known status, no config
 * hash). It is written atomically, so a half file never shows. Its epoch rows are upgraded (metrics.ts): JSON's null
 * and columns older versions lacked become NaN.
 */
export function readSummary(runDir: string): RunSummary | undefined {
  let s: Partial<Omit<RunSummary, 'best' | 'final'>> & { best?: StoredLogs; final?: StoredLogs };
  try {
    s = JSON.parse(fs.readFileSync(runPath(runDir, 'summary'), 'utf8')) as typeof s;
  } catch {
    return undefined;
  }
  if (typeof s !== 'object' || s === null || !RUN_STATUSES.includes(s.status as string) || typeof s.configSha256 !== 'string') return undefined;
  const { best, final, ...rest } = s;
  return { ...(rest as RunSummary), ...(best ? { best: upgradeLogs(best) } : {}), ...(final ? { final: upgradeLogs(final) } : {}) };
}

/** Replaces the run's summary.json, atomically. */
export async function writeSummary(runDir: string, summary: RunSummary): Promise<void> {
  await writeJson(runPath(runDir, 'summary'), summary);
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
