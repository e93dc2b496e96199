// Decides from what a run folder holds (summary.json, config.yaml, a checkpoint) whether a suite rerun can skip it.
import { configTextGives, configTextSha256, readRunConfigText } from '../run/config.js';
import { checkpointDir } from '../run/files.js';
import { readSummary, type RunSummary } from '../run/summary.js';
import type { RunSpec } from './plan.js';

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

/**
 * What the run folder of `spec` holds. It is this suite's run when summary.json's configSha256 is the sha256 of the
 * folder's config.yaml (the pair was written together) and that config.yaml is the suite's config: byte for byte, or
 * after re-validation (written before a schema gained a key). Then its status decides completed or incomplete.
 */
export function runState(spec: RunSpec): RunState {
  const summary = readSummary(spec.runDir);
  if (!summary) return { condition: 'missing' };
  const yamlText = readRunConfigText(spec.runDir);
  if (yamlText === undefined || summary.configSha256 !== configTextSha256(yamlText)) return { condition: 'stale', summary };
  const exact = summary.configSha256 === spec.configSha256;
  if (!exact && !configTextGives(yamlText, spec.config)) return { condition: 'stale', summary };
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
