// Saves and loads models and named tensors in tfjs's own file format (model.json + weights.bin), no tfjs-node needed.
import fs from 'node:fs';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import writeFileAtomic from 'write-file-atomic';
import { UserError } from '../errors.js';

const WEIGHTS_FILE = 'weights.bin';

function toArrayBuffer(data: tf.io.WeightData): ArrayBuffer {
  return tf.io.CompositeArrayBuffer.join(data);
}

/**
 * Writes `dir/model.json` and `dir/weights.bin` exactly as tfjs-node's file:// handler does, so the folder loads with
 * tf.loadLayersModel in Node (via loadModelFromDir or a file:// handler) and in the browser (served over http).
 * Each file is written atomically; weights first, so a model.json always points at complete weights.
 */
export async function saveModel(model: tf.LayersModel, dir: string): Promise<void> {
  fs.mkdirSync(dir, { recursive: true });
  await model.save(
    tf.io.withSaveHandler(async (artifacts) => {
      const weights = artifacts.weightData ? Buffer.from(toArrayBuffer(artifacts.weightData)) : Buffer.alloc(0);
      await writeFileAtomic(path.join(dir, WEIGHTS_FILE), weights);
      const json: tf.io.ModelJSON = {
        modelTopology: artifacts.modelTopology as tf.io.ModelJSON['modelTopology'],
        format: artifacts.format,
        generatedBy: artifacts.generatedBy,
        convertedBy: artifacts.convertedBy ?? null,
        weightsManifest: [{ paths: [`./${WEIGHTS_FILE}`], weights: artifacts.weightSpecs ?? [] }],
      };
      if (artifacts.trainingConfig) json.trainingConfig = artifacts.trainingConfig;
      await writeFileAtomic(path.join(dir, 'model.json'), JSON.stringify(json));
      return { modelArtifactsInfo: tf.io.getModelArtifactsInfoForJSON(artifacts) };
    }),
  );
}

/** An IOHandler reading a saved folder: `tf.loadLayersModel(modelDirHandler(dir))`. */
export function modelDirHandler(dir: string): tf.io.IOHandler {
  return {
    load: async () => {
      const jsonPath = path.join(dir, 'model.json');
      if (!fs.existsSync(jsonPath)) throw new UserError(`${dir}: no model.json (is this a finished run folder?)`);
      let json: tf.io.ModelJSON;
      try {
        json = JSON.parse(fs.readFileSync(jsonPath, 'utf8')) as tf.io.ModelJSON;
      } catch (e) {
        throw new UserError(`${jsonPath}: not valid JSON (${(e as Error).message})`);
      }
      const specs: tf.io.WeightsManifestEntry[] = [];
      const buffers: ArrayBuffer[] = [];
      for (const group of json.weightsManifest ?? []) {
        specs.push(...group.weights);
        for (const p of group.paths) {
          const b = fs.readFileSync(path.join(dir, p));
          buffers.push(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer);
        }
      }
      return {
        modelTopology: json.modelTopology,
        format: json.format,
        generatedBy: json.generatedBy,
        convertedBy: json.convertedBy,
        trainingConfig: json.trainingConfig,
        weightSpecs: specs,
        weightData: tf.io.concatenateArrayBuffers(buffers),
      };
    },
  };
}

export function loadModelFromDir(dir: string): Promise<tf.LayersModel> {
  return tf.loadLayersModel(modelDirHandler(dir));
}

/** Writes named tensors as `<file>` (raw weights) + `<file>.json` (their specs); atomic per file. */
export async function saveTensors(tensors: tf.NamedTensorMap, file: string): Promise<void> {
  const { data, specs } = await tf.io.encodeWeights(tensors);
  await writeFileAtomic(file, Buffer.from(data));
  await writeFileAtomic(`${file}.json`, JSON.stringify(specs));
}

/** Reads tensors written by saveTensors; the caller owns (disposes) them. */
export function loadTensors(file: string): tf.NamedTensorMap {
  const specs = JSON.parse(fs.readFileSync(`${file}.json`, 'utf8')) as tf.io.WeightsManifestEntry[];
  const b = fs.readFileSync(file);
  return tf.io.decodeWeights(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer, specs);
}
