// Reads what a run folder holds (summary.json, metrics.csv) and decides whether a suite rerun can skip it.
import fs from 'node:fs';
import path from 'node:path';
import { parse } from 'csv-parse/sync';
import YAML from 'yaml';
import { configToYaml, validateConfig } from '../config/load.js';
import type { Config } from '../config/schema.js';
import type { EpochLogs } from '../train/callbacks/types.js';
import { checkpointDir } from '../train/checkpoint.js';
import { readSummary, type RunSummary } from '../train/summary.js';
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
  /**
   * config.yaml is byte for byte the config the suite asks for (runTraining can resume it). Otherwise it was written
   * before a schema change and only re-validates to the same config (fine for skipping a completed run, not for resume).
   */
  exact?: boolean;
}

/** Does config.yaml, validated by today's schema (which fills keys added since with their defaults), give `config`? */
function sameConfig(yamlText: string, config: Config): boolean {
  try {
    const tree = YAML.parse(yamlText, { maxAliasCount: 50 }) as Record<string, unknown>;
    return configToYaml(validateConfig(tree, 'config.yaml')) === configToYaml(config);
  } catch {
    return false; // a key the schema no longer has, or a broken file: not the same config
  }
}

/**
 * What the run folder of `spec` holds. It is this suite's run when summary.json's configSha256 is the sha256 of the
 * folder's config.yaml (the pair was written together) and that config.yaml is the suite's config: byte for byte, or
 * after re-validation (written before a schema gained a key). Then its status decides completed or incomplete.
 */
export function runState(spec: RunSpec): RunState {
  const summary = readSummary(spec.runDir);
  if (!summary) return { condition: 'missing' };
  let yamlText: string | undefined;
  try {
    yamlText = fs.readFileSync(path.join(spec.runDir, 'config.yaml'), 'utf8');
  } catch {
    yamlText = undefined;
  }
  if (yamlText === undefined || summary.configSha256 !== sha256(yamlText)) return { condition: 'stale', summary };
  const exact = summary.configSha256 === spec.configSha256;
  if (!exact && !sameConfig(yamlText, spec.config)) return { condition: 'stale', summary };
  return { condition: summary.status === 'completed' ? 'completed' : 'incomplete', summary, exact };
}

/**
 * Whether a rerun resumes this run from its checkpoint: same config byte for byte (runTraining resumes only that),
 * stopped or killed mid-run (interrupted, or running with no live owner), and a checkpoint on disk. Otherwise a run
 * that is not completed starts over.
 */
export function canResume(state: RunState, runDir: string): boolean {
  return state.condition === 'incomplete' && state.exact === true &&
    (state.summary?.status === 'interrupted' || state.summary?.status === 'running') && checkpointDir(runDir) !== undefined;
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
