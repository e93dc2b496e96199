// Opens a finished run folder for CAM: resolved config, class names, preprocessing and the final or best model.
import fs from 'node:fs';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import YAML from 'yaml';
import { validateConfig } from '../config/load.js';
import type { Config } from '../config/schema.js';
import { preprocessorFromJSON, type Preprocessor } from '../data/preprocess.js';
import { UserError } from '../errors.js';
import { loadModelFromDir } from '../io/model-files.js';

/** 'final': model/ (last epoch); 'best': model-best/ (best validation epoch). */
export type WeightsChoice = 'final' | 'best';
export const WEIGHTS_CHOICES = ['final', 'best'] as const;

export interface OpenedRun {
  runDir: string;
  config: Config;
  classNames: string[];
  pre: Preprocessor;
  /** The caller disposes it. */
  model: tf.LayersModel;
  weights: WeightsChoice;
}

function readText(file: string, what: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new UserError(`${file}: cannot read the run's ${what} (${code === 'ENOENT' ? 'missing' : code ?? (e as Error).message})`);
  }
}

function readJson(file: string, what: string): unknown {
  const text = readText(file, what);
  try {
    return JSON.parse(text) as unknown;
  } catch (e) {
    throw new UserError(`${file}: the run's ${what} is not valid JSON (${(e as Error).message})`);
  }
}

/** Opens `runDir` (written by runTraining); every missing or broken piece is a UserError naming the file. */
export async function openRun(runDir: string, weights: WeightsChoice = 'final'): Promise<OpenedRun> {
  if (!fs.existsSync(runDir) || !fs.statSync(runDir).isDirectory()) throw new UserError(`run folder not found: ${runDir}`);
  const modelDir = path.join(runDir, weights === 'best' ? 'model-best' : 'model');
  if (!fs.existsSync(path.join(modelDir, 'model.json'))) {
    throw new UserError(
      `${runDir}: no ${weights} model (${path.relative(runDir, modelDir)}/model.json is missing; did the run finish?` +
        `${weights === 'best' ? ' try --weights final' : ''})`,
    );
  }
  const configFile = path.join(runDir, 'config.yaml');
  let tree: unknown;
  try {
    tree = YAML.parse(readText(configFile, 'config'));
  } catch (e) {
    if (e instanceof UserError) throw e;
    throw new UserError(`${configFile}: not valid YAML (${(e as Error).message})`);
  }
  if (typeof tree !== 'object' || tree === null || Array.isArray(tree)) throw new UserError(`${configFile}: not a config mapping`);
  const config = validateConfig(tree as Record<string, unknown>, configFile);
  const classesFile = path.join(runDir, 'classes.json');
  const classNames = readJson(classesFile, 'class names');
  if (!Array.isArray(classNames) || classNames.length < 2 || !classNames.every((c) => typeof c === 'string')) {
    throw new UserError(`${classesFile}: expected a list of at least 2 class names`);
  }
  const preFile = path.join(runDir, 'preprocessing.json');
  const preJson = readJson(preFile, 'preprocessing');
  if (typeof preJson !== 'object' || preJson === null) throw new UserError(`${preFile}: expected a JSON object`);
  const pre = preprocessorFromJSON(preJson, preFile);
  const model = await loadModelFromDir(modelDir);
  const outUnits = (model.outputs[0].shape ?? [])[1];
  if (outUnits !== classNames.length) {
    model.dispose();
    throw new UserError(`${runDir}: the model has ${outUnits} outputs but classes.json lists ${classNames.length} classes`);
  }
  return { runDir, config, classNames: classNames as string[], pre, model, weights };
}

/** Index of a class given by name (case-insensitive) or index; a UserError listing the classes otherwise. */
export function classIndex(name: string, classNames: string[]): number {
  const byName = classNames.findIndex((c) => c.toLowerCase() === name.trim().toLowerCase());
  if (byName >= 0) return byName;
  if (/^\d+$/.test(name.trim()) && Number(name) < classNames.length) return Number(name);
  throw new UserError(`unknown class '${name}'; this run's classes are: ${classNames.join(', ')}`);
}
