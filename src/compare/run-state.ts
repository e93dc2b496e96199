// Reads what a run folder holds (summary.json, metrics.csv) and decides whether a suite rerun can skip it.
import fs from 'node:fs';
import path from 'node:path';
import { parse } from 'csv-parse/sync';
import type { EpochLogs } from '../train/callbacks/types.js';
import type { RunSummary } from '../train/summary.js';
import { sha256, type RunSpec } from './plan.js';

export type RunCondition =
  /** No summary.json: never started (or the folder was removed). */
  | 'missing'
  /** summary.json says completed and config.yaml is the one this suite asks for. */
  | 'completed'
  /** Started with the same config but not completed (running elsewhere, interrupted, failed, diverged). */
  | 'incomplete'
  /** The folder holds another config (the suite changed): rerun from scratch. */
  | 'stale';

export interface RunState {
  condition: RunCondition;
  summary?: RunSummary;
}

/** Parses summary.json, or undefined when it is absent or unreadable (a crash mid-write leaves the old file: atomic). */
export function readSummary(runDir: string): RunSummary | undefined {
  try {
    return JSON.parse(fs.readFileSync(path.join(runDir, 'summary.json'), 'utf8')) as RunSummary;
  } catch {
    return undefined;
  }
}

/** What the run folder of `spec` holds; completed only when status, config.yaml and the recorded hash all agree. */
export function runState(spec: RunSpec): RunState {
  const summary = readSummary(spec.runDir);
  if (!summary) return { condition: 'missing' };
  let yamlText: string | undefined;
  try {
    yamlText = fs.readFileSync(path.join(spec.runDir, 'config.yaml'), 'utf8');
  } catch {
    yamlText = undefined;
  }
  const sameConfig = yamlText !== undefined && sha256(yamlText) === spec.configSha256 && summary.configSha256 === spec.configSha256;
  if (!sameConfig) return { condition: 'stale', summary };
  return { condition: summary.status === 'completed' ? 'completed' : 'incomplete', summary };
}

/** metrics.csv rows as numbers (one per epoch); [] when the file is absent. */
export function readMetrics(runDir: string): EpochLogs[] {
  let text: string;
  try {
    text = fs.readFileSync(path.join(runDir, 'metrics.csv'), 'utf8');
  } catch {
    return [];
  }
  const rows = parse(text, { columns: true, skip_empty_lines: true, cast: (v, ctx) => (ctx.header ? v : v === '' ? NaN : Number(v)) }) as Array<Record<string, number>>;
  return rows.map((r) => r as unknown as EpochLogs);
}
