// Shared helpers for model tests: cpu backend, a seeded batch, weight snapshots.
import * as tf from '@tensorflow/tfjs';

export async function useCpu(): Promise<void> {
  await tf.setBackend('cpu');
  await tf.ready();
}

/** A deterministic batch [n,h,w,c] of values in [-1, 1). */
export function batch(n: number, h: number, w: number, c: number): tf.Tensor4D {
  const size = n * h * w * c;
  const data = new Float32Array(size);
  for (let i = 0; i < size; i++) data[i] = ((i * 7919) % 1000) / 500 - 1;
  return tf.tensor4d(data, [n, h, w, c]);
}

/** Every weight of a layer as plain arrays (for bit-exact comparisons). */
export function layerValues(model: tf.LayersModel, name: string): Float32Array[] {
  return model.getLayer(name).getWeights().map((w) => w.dataSync() as Float32Array);
}

/** All weights of a model, keyed by layer name. */
export function modelValues(model: tf.LayersModel): Map<string, Float32Array[]> {
  const out = new Map<string, Float32Array[]>();
  for (const layer of model.layers) if (layer.weights.length > 0) out.set(layer.name, layerValues(model, layer.name));
  return out;
}
