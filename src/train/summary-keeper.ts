// summary.json through a run: written 'running' at the start, kept current at each epoch end, closed with the outcome.
import fs from 'node:fs';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import type { Config } from '../config/schema.js';
import type { EpochLogs } from '../run/metrics.js';
import { RUN_FILES } from '../run/files.js';
import type { OpenedRunFolder } from '../run/start.js';
import { carriedOver, testResult, writeSummary, type RunSummary } from '../run/summary.js';
import { DivergedError } from './loop.js';
import type { EvalResult } from './evaluate.js';

const PACKAGE_VERSION = (() => {
  try {
    const p = new URL('../../package.json', import.meta.url);
    return (JSON.parse(fs.readFileSync(p, 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
})();

function mean(xs: number[]): number {
  return xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : NaN;
}

export class SummaryKeeper {
  readonly summary: RunSummary;
  private readonly t0 = Date.now();
  /** A resume writes nothing until its checkpoint has been read and checked: one that fails leaves the folder as it was. */
  private writing: boolean;

  constructor(config: Config, private readonly folder: OpenedRunFolder, opts: { configFile?: string; resume?: boolean }) {
    this.writing = !opts.resume;
    const { runDir, prev } = folder;
    this.summary = {
      ...carriedOver(prev),
      status: 'running',
      experiment: config.experiment ?? 'default',
      runId: path.basename(runDir),
      runDir,
      ...(opts.configFile ? { configFile: opts.configFile } : {}),
      configSha256: folder.configSha256,
      model: { body: config.model.body, head: config.model.head },
      epochsRun: prev?.epochsRun ?? 0,
      wallSeconds: 0,
      startedAt: new Date(this.t0).toISOString(),
      versions: { gaplab: PACKAGE_VERSION, tfjs: tf.version.tfjs, node: process.version },
    };
  }

  /** Writes summary.json with the wall time so far (nothing before a resume's checkpoint is restored). */
  async save(): Promise<void> {
    if (this.writing) await writeSummary(this.folder.runDir, { ...this.summary, wallSeconds: (Date.now() - this.t0) / 1000 });
  }

  /**
   * Training starts: from now on saves write. A resume's position is the checkpoint's `history`, which may be older
   * than what summary.json said (the previous checkpoint, or a crash between the two writes).
   */
  started(history: readonly EpochLogs[] | undefined, best: EpochLogs | undefined): void {
    this.writing = true;
    if (!history) return;
    this.summary.final = history.at(-1);
    this.summary.best = best;
    this.summary.epochsRun = history.length;
  }

  /** An epoch ended (the last callback, after the others): keep summary.json current so a crash still tells. */
  async epochEnded(logs: EpochLogs, best: EpochLogs | undefined): Promise<void> {
    this.summary.final = logs;
    this.summary.best = best;
    this.summary.epochsRun = logs.epoch;
    await this.save();
  }

  /** Stopped by a signal at (epoch, batch): says how to resume. */
  interrupted(epoch: number, batch: number, log: (line: string) => void): RunSummary {
    this.summary.status = 'interrupted';
    this.summary.stopReason = `interrupted at epoch ${epoch + 1}, batch ${batch}; resume with: npm run train -- --resume ${this.folder.runDir}`;
    log(this.summary.stopReason);
    return this.summary;
  }

  /** Finished its epochs (or stopped early): the test results and the mean training speed. */
  completed(test: { final: EvalResult; best: EvalResult }, history: readonly EpochLogs[]): RunSummary {
    this.summary.test = { final: testResult(test.final), best: testResult(test.best) };
    this.summary.imagesPerSecond = mean(history.map((h) => h.images_per_second));
    this.summary.status = 'completed';
    return this.summary;
  }

  failed(e: unknown): void {
    this.summary.status = e instanceof DivergedError ? 'diverged' : 'failed';
    this.summary.error = (e as Error).message;
  }

  /**
   * The last write: finish time and wall time. When it fails (still no room on a full disk) after `failure` stopped
   * the run, that error is the one to report and this one is only a warning.
   */
  async close(failure: unknown, warn: (line: string) => void): Promise<void> {
    this.summary.finishedAt = new Date().toISOString();
    this.summary.wallSeconds = (Date.now() - this.t0) / 1000;
    try {
      await this.save();
    } catch (e) {
      if (failure === undefined) throw e;
      warn(`${RUN_FILES.summary} not updated: ${(e as Error).message}`);
    }
  }
}
