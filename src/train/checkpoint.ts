// Checkpoints for exact resume: weights, optimizer slots, schedule, early stopping, best epoch, loop position.
//
// Every random draw in training derives from (seed, epoch, batch), so the loop position is the whole RNG state.
// A checkpoint folder is written complete under a temporary name, then swapped in by rename; the previous one is
// kept until the new one is in place, so a crash or a second Ctrl-C at any moment leaves one complete checkpoint.
import fs from 'node:fs';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { UserError } from '../errors.js';
import { loadTensors, saveTensors } from '../io/model-files.js';
import { writeJson } from '../io/run-dir.js';
import type { BestModel } from './callbacks/best-model.js';
import type { EarlyStopping, EarlyStoppingState } from './callbacks/early-stopping.js';
import type { EpochAccum, EpochLogs } from './callbacks/types.js';
import type { Optimizer, OptimizerState } from './optimizer.js';
import type { LrSchedule, ScheduleState } from './schedule.js';

export const CHECKPOINT_DIR = 'checkpoint';

/** The stateful parts of a run that a checkpoint saves and a resume restores. */
export interface ResumableParts {
  runDir: string;
  model: tf.LayersModel;
  /** Trainable variables in a fixed order (optimizer slots are stored by position). */
  vars: readonly tf.Variable[];
  optimizer: Optimizer;
  schedule: LrSchedule;
  earlyStopping: EarlyStopping;
  best: BestModel;
}
const FORMAT = 1;

export interface CheckpointState {
  format: number;
  /** 0-based epoch and the number of its batches already done. */
  epoch: number;
  batch: number;
  accum: EpochAccum;
  history: EpochLogs[];
  schedule: ScheduleState;
  earlyStopping: EarlyStoppingState;
  best?: EpochLogs;
  optimizerStep: number;
  configSha256: string;
  savedAt: string;
}

export interface Checkpoint {
  state: CheckpointState;
  /** Model weights in model.getWeights() order. */
  weights: tf.Tensor[];
  /** Weights of the best epoch, when there was one. */
  bestWeights: tf.Tensor[];
  optimizer: OptimizerState;
}

/** JSON cannot hold NaN/Infinity: encode them as strings and back. */
const encode = (_k: string, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? String(v) : v);
const decode = (_k: string, v: unknown) => (v === 'NaN' ? NaN : v === 'Infinity' ? Infinity : v === '-Infinity' ? -Infinity : v);

/** EpochLogs fields that checkpoints written before the train-eval pass lack. */
type TrainEvalKey = 'train_eval_loss' | 'train_eval_acc' | 'train_eval_seconds';
type StoredLogs = Omit<EpochLogs, TrainEvalKey> & Partial<Pick<EpochLogs, TrainEvalKey>>;

/**
 * A history row as this version writes it. An older row gets NaN (not measured) for train_eval_*, and for its gaps
 * too: those were taken from the running train numbers, another quantity, and a gap column should not mix the two.
 */
function upgradeLogs(l: StoredLogs): EpochLogs {
  const { train_eval_loss, train_eval_acc, train_eval_seconds } = l;
  if (train_eval_loss !== undefined && train_eval_acc !== undefined && train_eval_seconds !== undefined) {
    return { ...l, train_eval_loss, train_eval_acc, train_eval_seconds };
  }
  return { ...l, train_eval_loss: NaN, train_eval_acc: NaN, train_eval_seconds: NaN, gap_acc: NaN, gap_loss: NaN };
}

function asMap(ts: readonly tf.Tensor[]): tf.NamedTensorMap {
  return Object.fromEntries(ts.map((t, i) => [`w${i}`, t]));
}

function fromMap(m: tf.NamedTensorMap): tf.Tensor[] {
  return Object.keys(m).sort((a, b) => Number(a.slice(1)) - Number(b.slice(1))).map((k) => m[k]);
}

function fsyncDir(dir: string): void {
  const fd = fs.openSync(dir, 'r');
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/** Writes `<runDir>/checkpoint/` atomically (write-file-atomic fsyncs each file; the folder is swapped by rename). */
export async function writeCheckpoint(
  runDir: string,
  state: Omit<CheckpointState, 'format' | 'savedAt'>,
  weights: readonly tf.Tensor[],
  bestWeights: readonly tf.Tensor[],
  optimizer: Optimizer,
  /** The trainable variables in a fixed order: slots are stored by position, since tfjs may rename variables. */
  vars: readonly tf.Variable[],
): Promise<void> {
  const final = path.join(runDir, CHECKPOINT_DIR);
  const tmp = `${final}.tmp`;
  const old = `${final}.old`;
  fs.rmSync(tmp, { recursive: true, force: true });
  fs.mkdirSync(tmp);
  const opt = optimizer.state();
  const slots: tf.NamedTensorMap = {};
  vars.forEach((v, i) => {
    for (const [k, t] of Object.entries(opt.slots[v.name] ?? {})) slots[`${i}::${k}`] = t;
  });
  await saveTensors(asMap(weights), path.join(tmp, 'weights.bin'));
  await saveTensors(asMap(bestWeights), path.join(tmp, 'best.bin'));
  await saveTensors(slots, path.join(tmp, 'optimizer.bin'));
  const full: CheckpointState = { ...state, format: FORMAT, savedAt: new Date().toISOString() };
  fs.writeFileSync(path.join(tmp, 'state.json'), JSON.stringify(full, encode, 1));
  fsyncDir(tmp);
  // Swap: the old checkpoint stays on disk until the new one has its final name.
  fs.rmSync(old, { recursive: true, force: true });
  if (fs.existsSync(final)) fs.renameSync(final, old);
  fs.renameSync(tmp, final);
  fsyncDir(runDir);
  fs.rmSync(old, { recursive: true, force: true });
}

/** The newest complete checkpoint folder of a run (the kept previous one if a swap was cut short), if any. */
export function checkpointDir(runDir: string): string | undefined {
  for (const name of [CHECKPOINT_DIR, `${CHECKPOINT_DIR}.old`]) {
    const d = path.join(runDir, name);
    if (fs.existsSync(path.join(d, 'state.json'))) return d;
  }
  return undefined;
}

/** Reads a checkpoint for a model whose trainable variables are `vars`; the caller owns (disposes) its tensors. */
export function readCheckpoint(runDir: string, vars: readonly tf.Variable[]): Checkpoint {
  const dir = checkpointDir(runDir);
  if (!dir) throw new UserError(`${runDir}: no checkpoint to resume from (it has no ${CHECKPOINT_DIR}/state.json)`);
  let state: CheckpointState;
  try {
    state = JSON.parse(fs.readFileSync(path.join(dir, 'state.json'), 'utf8'), decode) as CheckpointState;
  } catch (e) {
    throw new UserError(`${dir}/state.json: unreadable checkpoint (${(e as Error).message})`);
  }
  if (state.format !== FORMAT) throw new UserError(`${dir}: checkpoint format ${state.format}, expected ${FORMAT}`);
  state.history = (state.history as StoredLogs[]).map(upgradeLogs);
  if (state.best) state.best = upgradeLogs(state.best as StoredLogs);
  const slots: OptimizerState['slots'] = {};
  for (const [key, t] of Object.entries(loadTensors(path.join(dir, 'optimizer.bin')))) {
    const at = key.lastIndexOf('::');
    const v = vars[Number(key.slice(0, at))];
    if (!v) throw new UserError(`${dir}: checkpoint does not match this model (optimizer slot ${key})`);
    (slots[v.name] ??= {})[key.slice(at + 2)] = t;
  }
  return {
    state,
    weights: fromMap(loadTensors(path.join(dir, 'weights.bin'))),
    bestWeights: fromMap(loadTensors(path.join(dir, 'best.bin'))),
    optimizer: { step: state.optimizerStep, slots },
  };
}

export function disposeCheckpoint(c: Checkpoint): void {
  tf.dispose([...c.weights, ...c.bestWeights]);
  for (const s of Object.values(c.optimizer.slots)) tf.dispose(Object.values(s));
}
