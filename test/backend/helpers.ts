// Test helpers for the native backend: run one computation on cpu and native and compare, seeded inputs.
import * as tf from '@tensorflow/tfjs';
import { expect } from 'chai';

import { kernelCalls, registerNativeBackend } from '../../src/backend/native/register.js';
import { Rng } from '../../src/util/rng.js';

/** True when the addon is built and the backend registered (tests call this.skip() otherwise). */
export function nativeReady(): boolean {
  return registerNativeBackend({ threads: 2 });
}

/** Uniform values in [-1, 1) from a seeded stream, as a plain array both backends can wrap. */
export function randomArray(n: number, seed: number): Float32Array {
  const rng = new Rng(seed);
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = rng.next() * 2 - 1;
  return a;
}

export function randomTensor(shape: number[], seed: number): tf.Tensor {
  return tf.tensor(randomArray(shape.reduce((p, d) => p * d, 1), seed), shape);
}

/** max |a - b| / max |a|: the relative error measure of the issue. */
export function relError(ref: ArrayLike<number>, got: ArrayLike<number>): number {
  expect(got.length).to.equal(ref.length);
  let diff = 0, scale = 0;
  for (let i = 0; i < ref.length; i++) {
    diff = Math.max(diff, Math.abs(ref[i]! - got[i]!));
    scale = Math.max(scale, Math.abs(ref[i]!));
  }
  return scale === 0 ? diff : diff / scale;
}

/** Runs f on `backend` inside a tidy; every output's shape and a copy of its values. */
export function outputsOn(backend: string, f: () => tf.Tensor | tf.Tensor[]): { shape: number[]; values: Float32Array }[] {
  tf.setBackend(backend);
  const out = tf.tidy(f);
  const list = Array.isArray(out) ? out : [out];
  const res = list.map((t) => ({ shape: t.shape, values: Float32Array.from(t.dataSync()) }));
  tf.dispose(list);
  return res;
}

/** Native calls made so far to each kernel. */
export function nativeCount(kernel: string): number {
  return kernelCalls.get(kernel)?.native ?? 0;
}

/**
 * Runs f on cpu and on native and checks every output: same shapes, relative error <= tol, no tensors left behind,
 * and (when `kernels` is given) that each of those kernels ran natively at least once.
 */
export function expectSameOnBoth(f: () => tf.Tensor | tf.Tensor[], kernels: string[] = [], tol = 1e-5): void {
  const before = new Map(kernels.map((k) => [k, nativeCount(k)]));
  const ref = outputsOn('cpu', f);
  const startTensors = tf.memory().numTensors;
  const got = outputsOn('native', f);
  expect(tf.memory().numTensors, 'tensors leaked on native').to.equal(startTensors);
  expect(got.length).to.equal(ref.length);
  ref.forEach((r, i) => {
    expect(got[i]!.shape, `output ${i} shape`).to.deep.equal(r.shape);
    const err = relError(r.values, got[i]!.values);
    expect(err, `output ${i} relative error`).to.be.at.most(tol);
  });
  for (const k of kernels) expect(nativeCount(k), `native ${k} calls`).to.be.greaterThan(before.get(k)!);
}
