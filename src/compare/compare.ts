// npm run compare's library entry: plan a suite, train this shard's missing runs N at a time, collect, write every output.
import fs from 'node:fs';
import path from 'node:path';
import { aggregate, type Aggregate } from './aggregate.js';
import { camsForSuite } from './cam.js';
import { comparisonCsv, runsCsv, writeAtomic } from './csv.js';
import { dryRunRows, formatDryRun } from './dry-run.js';
import { executeRuns, type RunLauncher, type RunOutcome } from './execute.js';
import { planSuite, type Plan } from './plan.js';
import { makePlots, svgToPng } from './plots.js';
import { renderReport } from './report.js';
import { shardRuns, type Shard } from './shard.js';
import { loadSuite } from './suite.js';
import { summaryTable } from './table.js';
import { verdictNote, verdicts } from './verdict.js';

export interface CompareOptions {
  /** Suite YAML file. */
  suite: string;
  /** Seeds 1..n instead of the suite's. */
  seeds?: number;
  /** `key.path=value` overrides for every variant. */
  sets?: readonly string[];
  /** Replaces the suite's outputDir. */
  outputDir?: string;
  /** Runs trained at once (child processes). */
  jobs?: number;
  /** Train only this share of the runs. */
  shard?: Shard;
  /** Aggregate what the run folders hold; train nothing. */
  collect?: boolean;
  /** Print what each run would do (skip, resume, train, start over) and the time left; train and write nothing. */
  dryRun?: boolean;
  /** Skip plots and report.html (CSV files and the table only). */
  noReport?: boolean;
  /** Leave the CAM grids and localization scores out of report.html. */
  noCam?: boolean;
  log: (line: string) => void;
  warn: (line: string) => void;
  /** Replaces the child-process launcher (tests). */
  launcher?: RunLauncher;
  /** Stops starting runs and tells running ones to checkpoint and stop; outputs are still written. */
  signal?: AbortSignal;
  /** Run-lock staleness for other machines' locks, for training and for collecting alike (default: src/run/lock.ts's). */
  staleMs?: number;
}

export interface CompareResult {
  plan: Plan;
  /** What this invocation did to its share of the runs ([] with collect). */
  outcomes: RunOutcome[];
  /** The aggregate written (absent after a dry run, which writes nothing). */
  agg?: Aggregate;
  /** 0, or 1 when a run this invocation trained did not complete. */
  exitCode: number;
}

/** Files written into the suite folder, relative to it. */
export const OUTPUT_FILES = { runs: 'runs.csv', comparison: 'comparison.csv', report: 'report.html', plots: 'plots' } as const;

/** Aggregates every run of the plan and writes runs.csv, comparison.csv, plots/*.svg|png and report.html. */
export async function writeOutputs(plan: Plan, opts: Pick<CompareOptions, 'noReport' | 'noCam' | 'log' | 'warn' | 'staleMs'>): Promise<Aggregate> {
  fs.mkdirSync(plan.suiteDir, { recursive: true });
  const agg = aggregate(plan, opts.staleMs !== undefined ? { staleMs: opts.staleMs } : {});
  await writeAtomic(path.join(plan.suiteDir, OUTPUT_FILES.runs), runsCsv(agg));
  await writeAtomic(path.join(plan.suiteDir, OUTPUT_FILES.comparison), comparisonCsv(agg));
  if (!opts.noReport) {
    const plots = await makePlots(agg);
    const dir = path.join(plan.suiteDir, OUTPUT_FILES.plots);
    fs.mkdirSync(dir, { recursive: true });
    for (const p of plots) {
      await writeAtomic(path.join(dir, `${p.name}.svg`), p.svg);
      await writeAtomic(path.join(dir, `${p.name}.png`), svgToPng(p.svg));
    }
    const cams = opts.noCam ? undefined : await camsForSuite(plan, agg, opts.log, opts.warn);
    const html = renderReport({ plan, agg, plots, ...(cams ? { cams } : {}), generatedAt: new Date().toISOString() });
    await writeAtomic(path.join(plan.suiteDir, OUTPUT_FILES.report), html);
  }
  return agg;
}

/** Plans, trains (unless collect), collects and reports one suite. */
export async function compare(opts: CompareOptions): Promise<CompareResult> {
  const loaded = loadSuite(opts.suite);
  const plan = planSuite(loaded, {
    ...(opts.seeds !== undefined ? { seeds: opts.seeds } : {}),
    ...(opts.sets ? { sets: opts.sets } : {}),
    ...(opts.outputDir !== undefined ? { outputDir: opts.outputDir } : {}),
  });
  const mine = shardRuns(plan.runs, opts.shard);
  opts.log(`suite ${plan.suite}: ${plan.variants.length} variants x ${plan.seeds.length} seeds = ${plan.runs.length} runs` +
    (opts.shard ? `; shard ${opts.shard.index}/${opts.shard.count} takes ${mine.length}` : '') +
    ` (folder ${path.relative('.', plan.suiteDir) || '.'})`);
  if (opts.dryRun) {
    for (const line of formatDryRun(dryRunRows(mine), opts.jobs ?? 1)) opts.log(line);
    return { plan, outcomes: [], exitCode: 0 };
  }
  let outcomes: RunOutcome[] = [];
  if (!opts.collect) {
    outcomes = await executeRuns(mine, {
      jobs: opts.jobs ?? 1, log: opts.log, warn: opts.warn,
      ...(opts.launcher ? { launcher: opts.launcher } : {}), ...(opts.signal ? { signal: opts.signal } : {}),
      ...(opts.staleMs !== undefined ? { staleMs: opts.staleMs } : {}),
    });
    const ran = outcomes.filter((o) => o.action === 'ran').length;
    const skipped = outcomes.filter((o) => o.action === 'skipped').length;
    const locked = outcomes.filter((o) => o.action === 'locked').length;
    opts.log(`trained ${ran}, already completed ${skipped}` + (locked ? `, trained by another compare ${locked}` : ''));
  }
  const agg = await writeOutputs(plan, opts);
  opts.log('');
  for (const line of summaryTable(agg, plan.select)) opts.log(line);
  opts.log('');
  const rel = (f: string) => path.relative('.', path.join(plan.suiteDir, f));
  opts.log(`wrote ${rel(OUTPUT_FILES.runs)}, ${rel(OUTPUT_FILES.comparison)}` + (opts.noReport ? '' : `, ${rel(OUTPUT_FILES.plots)}/, ${rel(OUTPUT_FILES.report)}`));
  // The verdict comes last: what a person reads when the run ends.
  if (agg.pairs.length) {
    opts.log('');
    opts.log(`verdict. ${verdictNote(plan.select)}`);
    for (const sentence of verdicts(agg.pairs, plan.select)) opts.log(`  ${sentence}`);
  }
  const failed = outcomes.some((o) => o.action === 'ran' && o.status !== 'completed');
  return { plan, outcomes, agg, exitCode: failed ? 1 : 0 };
}
