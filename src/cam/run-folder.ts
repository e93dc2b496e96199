// Opens a finished run folder for CAM: resolved config, class names, preprocessing and the final or best model.
import fs from 'node:fs';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { z } from 'zod';
import type { Config } from '../config/schema.js';
import { preprocessorFromJSON, type Preprocessor } from '../data/preprocess.js';
import { UserError } from '../errors.js';
import { loadModelFromDir } from '../io/model-files.js';
import { readClassNames, readPreprocessingJson, readRunJson } from '../run/artifacts.js';
import { readRunConfig } from '../run/config.js';
import { modelDir as runModelDir, RUN_FILES, type WeightsChoice } from '../run/files.js';
import { camStructure, headFunction } from './structure.js';

export interface OpenedRun {
  runDir: string;
  config: Config;
  classNames: string[];
  pre: Preprocessor;
  /** The caller disposes it. */
  model: tf.LayersModel;
  weights: WeightsChoice;
}

/** model.json as tfjs reads it: a topology object and a manifest of weight files (checked before tfjs sees it). */
const modelJsonSchema = z.looseObject({
  modelTopology: z.record(z.string(), z.unknown()),
  weightsManifest: z
    .array(
      z.looseObject({
        paths: z.array(z.string().min(1)).min(1),
        weights: z.array(
          z.looseObject({
            name: z.string(),
            shape: z.array(z.number().int().nonnegative()),
            dtype: z.string(),
            quantization: z.looseObject({ dtype: z.string() }).optional(),
          }),
        ),
      }),
    )
    .min(1),
});

/** Bytes per value by dtype (a quantized weight is stored as its quantization dtype); others are not size-checked. */
const DTYPE_BYTES: Record<string, number> = { float32: 4, int32: 4, bool: 1, complex64: 8, uint8: 1, uint16: 2, float16: 2 };

/**
 * Checks model.json and its weight files against each other before tfjs reads them: the structure, every listed file
 * present inside the folder, and their total size equal to what the manifest's shapes need.
 */
function checkModelFiles(modelDir: string): void {
  const jsonFile = path.join(modelDir, 'model.json');
  const parsed = modelJsonSchema.safeParse(readRunJson(jsonFile, 'model'));
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new UserError(`${jsonFile}: not a tfjs model file: ${issue.path.join('.') || '(root)'}: ${issue.message}`);
  }
  let have = 0;
  let need = 0;
  let sized = true;
  for (const group of parsed.data.weightsManifest) {
    for (const p of group.paths) {
      const file = path.resolve(modelDir, p);
      const rel = path.relative(modelDir, file);
      if (rel === '..' || rel.startsWith(`..${path.sep}`) || path.isAbsolute(rel)) throw new UserError(`${jsonFile}: weight file '${p}' is outside the model folder`);
      let st: fs.Stats;
      try {
        st = fs.statSync(file);
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        throw new UserError(`${file}: cannot read the model's weights (${code === 'ENOENT' ? 'missing' : code ?? (e as Error).message}; listed in ${jsonFile})`);
      }
      if (!st.isFile()) throw new UserError(`${file}: the model's weights are not a file (listed in ${jsonFile})`);
      have += st.size;
    }
    for (const w of group.weights) {
      const bytes = DTYPE_BYTES[w.quantization?.dtype ?? w.dtype];
      if (bytes === undefined) sized = false;
      else need += bytes * w.shape.reduce((a, b) => a * b, 1);
    }
  }
  if (sized && have !== need) {
    throw new UserError(`${jsonFile}: its weightsManifest needs ${need} bytes of weights; the weight files hold ${have}`);
  }
}

/** Loads the model and checks it has the structure CAM reads (named layers, shapes); errors name model.json. */
async function loadCamModel(modelDir: string): Promise<tf.LayersModel> {
  const jsonFile = path.join(modelDir, 'model.json');
  checkModelFiles(modelDir);
  let model: tf.LayersModel;
  try {
    model = await loadModelFromDir(modelDir);
  } catch (e) {
    if (e instanceof UserError) throw e;
    // tfjs's messages run over several lines ("Unknown layer: Foo. This may be due to ..."): keep the first sentence.
    const why = (e as Error).message.split('\n')[0].replace(/ This may be due to.*$/, '');
    throw new UserError(`${jsonFile}: tfjs cannot load this model (${why})`);
  }
  try {
    camStructure(model);
    headFunction(model);
  } catch (e) {
    model.dispose();
    throw e instanceof UserError ? new UserError(`${jsonFile}: ${e.message}`) : e;
  }
  return model;
}

/** Opens `runDir` (written by runTraining); every missing or broken piece is a UserError naming the file. */
export async function openRun(runDir: string, weights: WeightsChoice = 'final'): Promise<OpenedRun> {
  if (!fs.existsSync(runDir) || !fs.statSync(runDir).isDirectory()) throw new UserError(`run folder not found: ${runDir}`);
  const modelDir = runModelDir(runDir, weights);
  if (!fs.existsSync(path.join(modelDir, 'model.json'))) {
    throw new UserError(
      `${runDir}: no ${weights} model (${path.relative(runDir, modelDir)}/model.json is missing; did the run finish?` +
        `${weights === 'best' ? ' try --weights final' : ''})`,
    );
  }
  const config = readRunConfig(runDir);
  const classNames = readClassNames(runDir);
  const preJson = readPreprocessingJson(runDir);
  const pre = preprocessorFromJSON(preJson.json, preJson.file);
  const model = await loadCamModel(modelDir);
  const outUnits = (model.outputs[0].shape ?? [])[1];
  if (outUnits !== classNames.length) {
    model.dispose();
    throw new UserError(`${runDir}: the model has ${outUnits} outputs but ${RUN_FILES.classes} lists ${classNames.length} classes`);
  }
  return { runDir, config, classNames, pre, model, weights };
}

/** Index of a class given by name (case-insensitive) or index; a UserError listing the classes otherwise. */
export function classIndex(name: string, classNames: string[]): number {
  const byName = classNames.findIndex((c) => c.toLowerCase() === name.trim().toLowerCase());
  if (byName >= 0) return byName;
  if (/^\d+$/.test(name.trim()) && Number(name) < classNames.length) return Number(name);
  throw new UserError(`unknown class '${name}'; this run's classes are: ${classNames.join(', ')}`);
}
