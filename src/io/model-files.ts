// Saves and loads models and named tensors in tfjs's own file format (model.json + weights.bin), no tfjs-node needed.
import fs from 'node:fs';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { z } from 'zod';
import { UserError } from '../errors.js';
import { writeFileAtomic } from './durable-write.js';

const WEIGHTS_FILE = 'weights.bin';

/**
 * JSON.parse of a file's bytes, or a UserError `<file>: not valid JSON (...)`. The parser quotes the input, so its
 * message is cut to printable characters and a short length (a damaged file would otherwise print binary).
 */
export function parseJson(file: string, bytes: Buffer | string, reviver?: (key: string, value: unknown) => unknown): unknown {
  try {
    return JSON.parse(bytes.toString(), reviver);
  } catch (e) {
    throw new UserError(`${file}: not valid JSON (${(e as Error).message.replace(/[^\x20-\x7e]/g, '?').slice(0, 100)})`);
  }
}

function toArrayBuffer(data: tf.io.WeightData): ArrayBuffer {
  return tf.io.CompositeArrayBuffer.join(data);
}

/**
 * Writes `dir/model.json` and `dir/weights.bin` exactly as tfjs-node's file:// handler does, so the folder loads with
 * tf.loadLayersModel in Node (via loadModelFromDir or a file:// handler) and in the browser (served over http).
 * Each file is written atomically (durable-write.ts); weights first, so a model.json always points at complete weights.
 */
export async function saveModel(model: tf.LayersModel, dir: string): Promise<void> {
  fs.mkdirSync(dir, { recursive: true });
  await model.save(
    tf.io.withSaveHandler(async (artifacts) => {
      const weights = artifacts.weightData ? Buffer.from(toArrayBuffer(artifacts.weightData)) : Buffer.alloc(0);
      writeFileAtomic(path.join(dir, WEIGHTS_FILE), weights);
      const json: tf.io.ModelJSON = {
        modelTopology: artifacts.modelTopology as tf.io.ModelJSON['modelTopology'],
        format: artifacts.format,
        generatedBy: artifacts.generatedBy,
        convertedBy: artifacts.convertedBy ?? null,
        weightsManifest: [{ paths: [`./${WEIGHTS_FILE}`], weights: artifacts.weightSpecs ?? [] }],
      };
      if (artifacts.trainingConfig) json.trainingConfig = artifacts.trainingConfig;
      writeFileAtomic(path.join(dir, 'model.json'), JSON.stringify(json));
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
      const json = parseJson(jsonPath, fs.readFileSync(jsonPath)) as tf.io.ModelJSON;
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

/** What a tensor file must hold for one tensor. */
export interface TensorSpec {
  name: string;
  shape: readonly number[];
  dtype: tf.DataType;
}

const BYTES_PER_ELEMENT: Partial<Record<tf.DataType, number>> = { float32: 4, int32: 4, bool: 1 };

/** The manifest tfjs's encodeWeights writes: one { name, shape, dtype } per tensor, in byte order. */
const manifestSchema = z.array(
  z.object({ name: z.string(), shape: z.array(z.number().int().min(0)), dtype: z.enum(['float32', 'int32', 'bool']) }),
);

const showSpec = (s: { shape: readonly number[]; dtype: string }) => `[${s.shape.join(',')}] ${s.dtype}`;

/** Named tensors as raw bytes (`<file>`) and their manifest (`<file>.json`), the layout decodeTensors reads. */
export async function encodeTensors(tensors: tf.NamedTensorMap): Promise<{ data: Buffer; manifest: Buffer }> {
  const { data, specs } = await tf.io.encodeWeights(tensors);
  return { data: Buffer.from(data), manifest: Buffer.from(JSON.stringify(specs)) };
}

/**
 * Decodes what encodeTensors wrote to `file` (`data`) and `file.json` (`manifest`), after checking that the manifest
 * lists exactly the `expected` tensors (names, shapes, dtypes, in any order) and that `data` has exactly the bytes it
 * describes. A mismatch is a UserError naming the file at fault; the caller owns (disposes) the tensors.
 */
export function decodeTensors(file: string, data: Buffer, manifest: Buffer, expected: readonly TensorSpec[]): tf.NamedTensorMap {
  const manifestFile = `${file}.json`;
  const bad = (f: string, problem: string) => new UserError(`${f}: ${problem}`);
  const parsed = manifestSchema.safeParse(parseJson(manifestFile, manifest));
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw bad(manifestFile, `not a tensor manifest (${issue.path.join('.') || 'top level'}: ${issue.message})`);
  }
  const specs = parsed.data;
  const want = new Map(expected.map((s) => [s.name, s]));
  if (specs.length !== expected.length) throw bad(manifestFile, `lists ${specs.length} tensors, expected ${expected.length}`);
  let bytes = 0;
  for (const s of specs) {
    const w = want.get(s.name);
    if (!w) throw bad(manifestFile, `lists '${s.name}', which is not expected here (or twice)`);
    want.delete(s.name);
    if (s.dtype !== w.dtype || s.shape.join(',') !== w.shape.join(',')) {
      throw bad(manifestFile, `'${s.name}' is ${showSpec(s)}, expected ${showSpec(w)}`);
    }
    bytes += s.shape.reduce((a, b) => a * b, 1) * (BYTES_PER_ELEMENT[s.dtype] ?? NaN);
  }
  if (data.byteLength !== bytes) throw bad(file, `${data.byteLength} bytes, its manifest describes ${bytes}`);
  return tf.io.decodeWeights(data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength) as ArrayBuffer, specs);
}
