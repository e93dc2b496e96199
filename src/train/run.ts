// One training run end to end: the named steps, in order; each lives in its own module.
import type { Config } from '../config/schema.js';
import { writeInferenceInputs } from '../run/artifacts.js';
import { openRunFolder } from '../run/start.js';
import type { RunSummary } from '../run/summary.js';
import type { Callback } from './callbacks/types.js';
import { fit } from './loop.js';
import { buildTrainingParts, type TrainingParts } from './parts.js';
import { restoreCheckpoint } from './resume.js';
import { runCallbacks } from './run-callbacks.js';
import { datasetSummary, loadTrainingData, setUpBackend } from './setup.js';
import { SummaryKeeper } from './summary-keeper.js';
import { testRun } from './test-eval.js';

export interface RunOptions {
  /** Progress and result lines (stdout). */
  log: (line: string) => void;
  /** Warnings (stderr). */
  warn: (line: string) => void;
  /** The config file the run came from (recorded in summary.json). */
  configFile?: string;
  /** Use this folder instead of a new <outputDir>/<experiment>/<run-id> (compare passes its own). */
  runDir?: string;
  /** Draw a live progress bar (defaults to: stderr is a terminal). */
  live?: boolean;
  /** Extra callbacks (tests, compare). */
  callbacks?: Callback[];
  /** Continue the run in `runDir` from its last checkpoint (config.yaml there must match `config`). */
  resume?: boolean;
  /** Aborting stops training after the current batch, writes a checkpoint and ends with status 'interrupted'. */
  signal?: AbortSignal;
}

/** Trains one config into its run folder (src/run/files.ts lists what it holds); returns summary.json's content. */
export async function runTraining(config: Config, opts: RunOptions): Promise<RunSummary> {
  const folder = openRunFolder(config, opts);
  const keeper = new SummaryKeeper(config, folder, opts);
  const summary = keeper.summary;
  await keeper.save();
  opts.log(`run folder: ${folder.runDir}`);
  let parts: TrainingParts | undefined;
  let failure: unknown;
  try {
    Object.assign(summary, await setUpBackend(config, opts));
    const data = await loadTrainingData(config, opts);
    summary.dataset = datasetSummary(data);
    parts = buildTrainingParts(config, data, folder.runDir, opts.log);
    summary.model.params = parts.built.params;
    const start = opts.resume ? restoreCheckpoint({ ...parts, log: opts.log, warn: opts.warn }) : undefined;
    keeper.started(start?.history, parts.best.best);
    await writeInferenceInputs(folder.runDir, data.classNames, data.pre.toJSON());
    await keeper.save();
    const callbacks = runCallbacks(config, data.classNames.length, parts, keeper, { ...opts, extra: opts.callbacks ?? [] });
    const { net, optimizer, schedule } = parts;
    const state = await fit({ net, optimizer, schedule, ...data, config, callbacks, ...(start ? { start } : {}) });
    summary.epochsRun = state.history.length;
    if (state.stopReason === 'interrupted') return keeper.interrupted(state.epoch, state.batch, opts.log);
    if (state.stopReason) {
      summary.stopReason = state.stopReason;
      opts.log(state.stopReason);
    }
    return keeper.completed(await testRun(config, data, parts, state.history, opts.log), state.history);
  } catch (e) {
    failure = e;
    keeper.failed(e);
    throw e;
  } finally {
    parts?.dispose();
    await keeper.close(failure, opts.warn);
  }
}
