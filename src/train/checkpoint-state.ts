// A checkpoint's state.json: the loop position and callback states, its schema, and its text (NaN/Infinity kept).
import { z } from 'zod';
import { UserError } from '../errors.js';
import { parseJson } from '../io/model-files.js';
import type { EarlyStoppingState } from './callbacks/early-stopping.js';
import type { EpochAccum } from './callbacks/types.js';
import { RUN_FILES } from '../run/files.js';
import { METRIC_COLUMNS, upgradeLogs, type EpochLogs, type StoredLogs } from '../run/metrics.js';
import type { ScheduleState } from './schedule.js';

/** 2 added `files` (sha256 of every other file); 1 is still read, with every check but the checksums. */
export const FORMAT = 2;

/** The files a checkpoint holds besides state.json: tensors (tfjs weight bytes) and their manifests. */
export const TENSOR_FILES = ['weights.bin', 'best.bin', 'optimizer.bin'] as const;
export const PART_FILES = TENSOR_FILES.flatMap((f) => [f, `${f}.json`]);
export const STATE_FILE = RUN_FILES.checkpointState;

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
  /** sha256 (hex) of each of PART_FILES; absent in format 1. */
  files?: Record<string, string>;
}

/** JSON cannot hold NaN/Infinity: encode them as strings and back. */
const encode = (_k: string, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? String(v) : v);
const decode = (_k: string, v: unknown) => (v === 'NaN' ? NaN : v === 'Infinity' ? Infinity : v === '-Infinity' ? -Infinity : v);

export function stateText(state: CheckpointState): string {
  return JSON.stringify(state, encode, 1);
}

/** EpochLogs fields that checkpoints written before the train-eval pass lack (upgradeLogs fills them). */
const TRAIN_EVAL_KEYS = ['train_eval_loss', 'train_eval_acc', 'train_eval_seconds'] as const;

/** Any number, NaN and infinities included (not measured, reduce-on-plateau's initial best). */
const num = z.custom<number>((v) => typeof v === 'number', 'expected a number');
const count = z.number().int().min(0);
const logsSchema = z.object(
  Object.fromEntries(METRIC_COLUMNS.map((k) => [k, (TRAIN_EVAL_KEYS as readonly string[]).includes(k) ? num.optional() : num])),
) as unknown as z.ZodType<StoredLogs>;

const stateSchema = z.object({
  format: z.union([z.literal(1), z.literal(FORMAT)]),
  epoch: count,
  batch: count,
  accum: z.object({ lossSum: num, correct: count, seen: count, seconds: num }),
  history: z.array(logsSchema),
  schedule: z.object({ plateauLr: num, best: num, bad: count }),
  earlyStopping: z.object({ best: num, wait: count }),
  best: logsSchema.optional(),
  optimizerStep: count,
  configSha256: z.string(),
  savedAt: z.string(),
  files: z.object(Object.fromEntries(PART_FILES.map((f) => [f, z.string().regex(/^[0-9a-f]{64}$/)]))).optional(),
});

/** Parses and checks state.json's bytes; a UserError naming `file` and the first problem otherwise. */
export function parseState(file: string, bytes: Buffer): CheckpointState {
  const bad = (problem: string) => new UserError(`${file}: ${problem}`);
  const r = stateSchema.safeParse(parseJson(file, bytes, decode));
  if (!r.success) {
    const issue = r.error.issues[0];
    throw bad(`not a checkpoint state (${issue.path.join('.') || 'top level'}: ${issue.message})`);
  }
  const s = r.data;
  if (s.format >= 2 && !s.files) throw bad(`format ${s.format} without 'files' (the sha256 of the other files)`);
  // One history row per finished epoch: epoch is the next (or current) 0-based epoch.
  if (s.history.length !== s.epoch) throw bad(`${s.history.length} history rows for a position in epoch ${s.epoch + 1}`);
  const { best, history, ...rest } = s;
  return { ...rest, history: history.map(upgradeLogs), ...(best ? { best: upgradeLogs(best) } : {}) };
}
