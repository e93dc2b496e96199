// compare --dry-run: what a rerun of the suite would do with each run (skip, resume, train, start over) and how long.
import path from 'node:path';
import { mean } from '../util/stats.js';
import type { RunSpec } from './plan.js';
import { canResume, runState, type RunState } from './run-state.js';

export type DryRunAction = 'done' | 'resume' | 'new' | 'restart';

export interface DryRunRow {
  spec: RunSpec;
  action: DryRunAction;
  /** Epochs already run (resume) and the run's budget. */
  epochsRun: number;
  epochs: number;
  /** Why a run starts over (stale config, failed, diverged, no checkpoint). */
  why?: string;
  /** Wall time of a completed run (summary.json), for the estimate. */
  wallSeconds?: number;
}

function classify(spec: RunSpec, state: RunState): DryRunRow {
  const epochs = spec.config.train.epochs;
  const epochsRun = state.summary?.epochsRun ?? 0;
  const row = { spec, epochs, epochsRun };
  if (state.condition === 'completed') return { ...row, action: 'done', ...(state.summary ? { wallSeconds: state.summary.wallSeconds } : {}) };
  if (state.condition === 'missing') return { ...row, action: 'new', epochsRun: 0 };
  if (canResume(state, spec.runDir)) return { ...row, action: 'resume' };
  const why = state.condition === 'stale' ? 'another config' : state.summary?.status === 'running' || state.summary?.status === 'interrupted'
    ? 'no usable checkpoint' : state.summary?.status ?? 'incomplete';
  return { ...row, action: 'restart', epochsRun: 0, why };
}

export function dryRunRows(runs: readonly RunSpec[]): DryRunRow[] {
  return runs.map((spec) => classify(spec, runState(spec)));
}

/**
 * Seconds left: each run still to train costs its variant's mean wall time over completed runs (else the mean of all
 * completed runs), scaled by the share of its epochs left; divided by the runs trained at once. NaN with no completed run.
 */
export function estimateSeconds(rows: readonly DryRunRow[], jobs: number): number {
  const done = rows.filter((r) => r.action === 'done' && r.spec.config.train.epochs > 0);
  const wall = (rs: readonly DryRunRow[]) => mean(rs.map((r) => r.wallSeconds ?? NaN));
  const overall = wall(done);
  let total = 0;
  for (const r of rows) {
    if (r.action === 'done') continue;
    const own = wall(done.filter((d) => d.spec.variant === r.spec.variant));
    const perRun = Number.isFinite(own) ? own : overall;
    total += perRun * Math.max(0, r.epochs - r.epochsRun) / r.epochs;
  }
  return total / Math.max(1, jobs);
}

function duration(s: number): string {
  if (!Number.isFinite(s)) return 'unknown (no completed run of this suite yet)';
  if (s < 90) return `${Math.round(s)} s`;
  const m = Math.round(s / 60);
  return m < 90 ? `${m} min` : `${(m / 60).toFixed(1)} h`;
}

/** The plan as lines: one per run, then counts and the estimate. */
export function formatDryRun(rows: readonly DryRunRow[], jobs: number, cwd = '.'): string[] {
  const label: Record<DryRunAction, (r: DryRunRow) => string> = {
    done: () => 'done (skipped)',
    resume: (r) => `resumable from its checkpoint (epoch ${r.epochsRun} of ${r.epochs})`,
    new: () => 'new',
    restart: (r) => `starts over (${r.why})`,
  };
  const lines = rows.map((r) => `  ${r.spec.variant} seed ${r.spec.seed}: ${label[r.action](r)}  ${path.relative(cwd, r.spec.runDir)}`);
  const count = (a: DryRunAction) => rows.filter((r) => r.action === a).length;
  lines.push(`done ${count('done')}, resumable ${count('resume')}, new ${count('new')}, starting over ${count('restart')}; ` +
    `estimated time left with --jobs ${jobs}: ${duration(estimateSeconds(rows, jobs))}`);
  return lines;
}
