// One training run end to end: run folder, backend, data, model, fit with callbacks, test evaluation, saved outputs.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { applyPrecision } from '../backend/precision.js';
import { selectBackend } from '../backend/select.js';
import { configToYaml } from '../config/load.js';
import type { Config } from '../config/schema.js';
import { fitPreprocessor } from '../data/preprocess.js';
import { dataCacheDir, loadDataset } from '../data/registry.js';
import { splitTrainVal } from '../data/split.js';
import { saveModel } from '../io/model-files.js';
import { assertWritable, createRunDir, writeJson, writeText } from '../io/run-dir.js';
import { UserError } from '../errors.js';
import { buildModel, logitsModel } from '../models/registry.js';
import { BestModel } from './callbacks/best-model.js';
import { ChanceWatch, chanceHint } from './callbacks/chance-watch.js';
import { CsvLogger } from './callbacks/csv-logger.js';
import { EarlyStopping } from './callbacks/early-stopping.js';
import { Progress } from './callbacks/progress.js';
import type { Callback } from './callbacks/types.js';
import { evaluate } from './evaluate.js';
import { DivergedError, fit } from './loop.js';
import { Checkpointer } from './callbacks/checkpointer.js';
import { restoreCheckpoint } from './resume.js';
import { trainableVariables } from './step.js';
import { trainEvalCount, trainEvalSample } from './train-eval.js';
import { createOptimizer } from './optimizer.js';
import { LrSchedule } from './schedule.js';
import { carriedOver, readSummary, testResult, type RunSummary } from './summary.js';

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

const PACKAGE_VERSION = (() => {
  try {
    const p = new URL('../../package.json', import.meta.url);
    return (JSON.parse(fs.readFileSync(p, 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
})();

/** Trains one config; writes config.yaml, metrics.csv, summary.json, model/ and model-best/ into the run folder. */
export async function runTraining(config: Config, opts: RunOptions): Promise<RunSummary> {
  const t0 = Date.now();
  const experiment = config.experiment ?? 'default';
  const runDir = opts.runDir ?? createRunDir(config.outputDir, experiment, config.seed);
  assertWritable(runDir);
  const yamlText = configToYaml(config);
  const configFile = path.join(runDir, 'config.yaml');
  let prev: RunSummary | undefined;
  if (opts.resume) {
    if (!fs.existsSync(configFile) || fs.readFileSync(configFile, 'utf8') !== yamlText) {
      throw new UserError(`${runDir}: cannot resume: its config.yaml differs from the config given (or is missing)`);
    }
    prev = readSummary(runDir);
    if (prev?.status === 'completed') throw new UserError(`${runDir}: this run has already completed; nothing to resume`);
  } else {
    await writeText(configFile, yamlText);
  }
  const summary: RunSummary = {
    ...carriedOver(prev),
    status: 'running',
    experiment,
    runId: path.basename(runDir),
    runDir,
    ...(opts.configFile ? { configFile: opts.configFile } : {}),
    configSha256: crypto.createHash('sha256').update(yamlText).digest('hex'),
    model: { body: config.model.body, head: config.model.head },
    epochsRun: prev?.epochsRun ?? 0,
    wallSeconds: 0,
    startedAt: new Date(t0).toISOString(),
    versions: { gaplab: PACKAGE_VERSION, tfjs: tf.version.tfjs, node: process.version },
  };
  const summaryFile = path.join(runDir, 'summary.json');
  // A resume writes nothing until its checkpoint has been read and checked: one that fails leaves the folder as it was.
  let writing = !opts.resume;
  const save = async () => {
    if (writing) await writeJson(summaryFile, { ...summary, wallSeconds: (Date.now() - t0) / 1000 });
  };
  await save();
  opts.log(`run folder: ${runDir}`);

  const disposables: Array<{ dispose(): void }> = [];
  let failure: unknown;
  try {
    const backend = await selectBackend(config.backend, {
      threads: config.threads, warn: opts.warn, info: opts.log, ...(config.webgpu?.adapter ? { webgpuAdapter: config.webgpu.adapter } : {}),
    });
    summary.backend = backend;
    opts.log(`backend: ${backend.name} (${backend.detail})`);
    summary.precision = applyPrecision(config.train.precision, backend.name, opts.log);
    if (summary.precision === 'bf16') opts.log('precision: bf16 (convolutions and matmuls in bfloat16 where faster; fp32 weights, optimizer and loss)');

    // The loaded training set is split into copies and dropped here: kept, it would hold the whole set a second time
    // (154 MB for CIFAR-10) for the whole run.
    const data = await (async () => {
      const { train: all, ...rest } = await loadDataset(config.data, config.seed, opts.log);
      return { ...rest, ...splitTrainVal(all, config.data.validationSize, config.seed) };
    })();
    const { train, val } = data;
    const trainEval = trainEvalSample(train, trainEvalCount(config.train.trainEvalSize, train.n, val.n), config.seed);
    const pre = fitPreprocessor(config.data.preprocessing, train, { cacheDir: dataCacheDir(config.data), log: opts.log, warn: opts.warn });
    summary.dataset = {
      name: data.name, classes: data.classNames.length, train: train.n, val: val.n, trainEval: trainEval.n, test: data.test.n,
      imageShape: [train.height, train.width, train.channels],
    };

    const built = buildModel(config.model, { inputShape: [train.height, train.width, train.channels], numClasses: data.classNames.length }, config.seed);
    const net = logitsModel(built);
    disposables.push(built.model, net);
    summary.model.params = built.params;
    opts.log(`model: ${config.model.body} + ${config.model.head}, ${built.params.total.toLocaleString('en-US')} parameters ` +
      `(body ${built.params.body.toLocaleString('en-US')}, head ${built.params.head.toLocaleString('en-US')})`);

    const optimizer = createOptimizer(config.train.optimizer, config.model.weightDecay);
    disposables.push(optimizer);
    const schedule = new LrSchedule(config.train.schedule, config.train.optimizer.lr, config.train.epochs);
    const es = config.train.earlyStopping;
    const best = new BestModel(built.model, es.monitor, async () => saveModel(built.model, path.join(runDir, 'model-best')));
    disposables.push(best);
    const earlyStopping = new EarlyStopping(es.monitor, es.patience, es.minDelta);
    const vars = trainableVariables(net);
    const metricsFile = path.join(runDir, 'metrics.csv');
    const parts = { runDir, model: built.model, vars, optimizer, schedule, earlyStopping, best };
    const start = opts.resume ? restoreCheckpoint({ ...parts, metricsFile, log: opts.log, warn: opts.warn }) : undefined;
    writing = true;
    if (start) {
      // The checkpoint's, which may be older than what summary.json said (the previous checkpoint, or a crash between).
      summary.final = start.history.at(-1);
      summary.best = best.best;
      summary.epochsRun = start.history.length;
    }
    await writeJson(path.join(runDir, 'preprocessing.json'), pre.toJSON());
    await writeJson(path.join(runDir, 'classes.json'), data.classNames);
    await save();
    const callbacks: Callback[] = [
      new CsvLogger(metricsFile),
      best,
      earlyStopping,
      new Checkpointer({ ...parts, configSha256: summary.configSha256, everyMinutes: config.train.checkpointMinutes }),
      new Progress(opts.log, opts.live),
      new ChanceWatch(data.classNames.length, chanceHint(config.model), opts.warn),
      {
        onBatchEnd: (_l, st) => {
          if (opts.signal?.aborted && !st.stop) {
            st.stop = true;
            st.stopReason = 'interrupted';
          }
        },
      },
      ...(opts.callbacks ?? []),
      {
        // Keep summary.json current so a crash still says how far the run got; last, after what the others did.
        onEpochEnd: async (l) => {
          summary.final = l;
          summary.best = best.best;
          summary.epochsRun = l.epoch;
          await save();
        },
      },
    ];
    const state = await fit({ net, optimizer, schedule, train, val, trainEval, pre, config, callbacks, ...(start ? { start } : {}) });
    summary.epochsRun = state.history.length;
    if (state.stopReason === 'interrupted') {
      summary.status = 'interrupted';
      summary.stopReason = `interrupted at epoch ${state.epoch + 1}, batch ${state.batch}; resume with: npm run train -- --resume ${runDir}`;
      opts.log(summary.stopReason);
      return summary;
    }
    if (state.stopReason) {
      summary.stopReason = state.stopReason;
      opts.log(state.stopReason);
    }

    const bs = config.train.evalBatchSize;
    const finalTest = await evaluate(net, data.test, pre, bs);
    await saveModel(built.model, path.join(runDir, 'model'));
    let bestTest = finalTest;
    if (best.best && best.best.epoch !== state.history.at(-1)?.epoch) {
      const finalWeights = built.model.getWeights().map((w) => w.clone());
      built.model.setWeights([...best.snapshot()]);
      bestTest = await evaluate(net, data.test, pre, bs);
      built.model.setWeights(finalWeights);
      tf.dispose(finalWeights);
    }
    summary.test = { final: testResult(finalTest), best: testResult(bestTest) };
    summary.imagesPerSecond = mean(state.history.map((h) => h.images_per_second));
    summary.status = 'completed';
    opts.log(`test: final acc ${finalTest.acc.toFixed(4)} loss ${finalTest.loss.toFixed(4)}; ` +
      `best-val epoch ${best.best?.epoch ?? '-'} acc ${bestTest.acc.toFixed(4)} loss ${bestTest.loss.toFixed(4)}`);
    return summary;
  } catch (e) {
    failure = e;
    summary.status = e instanceof DivergedError ? 'diverged' : 'failed';
    summary.error = (e as Error).message;
    throw e;
  } finally {
    for (const d of disposables.reverse()) d.dispose();
    summary.finishedAt = new Date().toISOString();
    summary.wallSeconds = (Date.now() - t0) / 1000;
    try {
      await save();
    } catch (e) {
      // Still no room (disk full): the error that stopped the run is the one to report.
      if (failure === undefined) throw e;
      opts.warn(`summary.json not updated: ${(e as Error).message}`);
    }
  }
}

function mean(xs: number[]): number {
  return xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : NaN;
}
