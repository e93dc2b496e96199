// Test helpers for the webgpu backend: select it once (Dawn; Mesa's llvmpipe in CI), compare computations with cpu.
import * as tf from '@tensorflow/tfjs';
import { expect } from 'chai';
import type { Context } from 'mocha';

import { type BackendInfo, selectBackend } from '../../src/backend/select.js';
import { needs } from '../requires.js';
import { relError } from './helpers.js';

/** Makes a missing WebGPU adapter an error outside CI too (CI=true does already). */
export const REQUIRE_WEBGPU_ENV = 'GAPLAB_REQUIRE_WEBGPU';

/**
 * Relative error (max |cpu - webgpu| / max |cpu|) allowed per output: the native backend's 1e-5 holds for the single
 * ops on llvmpipe (measured worst 3e-7, see docs/webgpu.md); whole-model gradients sum over more terms in a different
 * order (tiled matmuls, shader reductions), and 1e-4 leaves room for a hardware GPU's fused multiply-adds.
 */
export const OP_TOL = 1e-5;
export const MODEL_TOL = 1e-4;

let selected: Promise<BackendInfo | string> | undefined;

/** Selects the webgpu backend once per process (as `backend: webgpu` does); its info, or why it is unavailable. */
function webgpuBackend(): Promise<BackendInfo | string> {
  selected ??= selectBackend('webgpu', { threads: 1, warn: () => undefined }).catch((e: unknown) => (e as Error).message);
  return selected;
}

/** For a before hook: makes webgpu tfjs's backend; skips without an adapter (fails in CI or with GAPLAB_REQUIRE_WEBGPU=1). */
export async function needsWebgpu(ctx: Context): Promise<BackendInfo> {
  const got = await webgpuBackend();
  needs(ctx, typeof got !== 'string', `a WebGPU adapter (${String(got)})`, REQUIRE_WEBGPU_ENV);
  await tf.setBackend('webgpu');
  return got as BackendInfo;
}

/** Runs f on `backend` in a tidy and reads every output asynchronously (webgpu has no synchronous read in Node). */
export async function outputsOn(backend: string, f: () => tf.Tensor | tf.Tensor[]): Promise<Array<{ shape: number[]; values: Float32Array }>> {
  await tf.setBackend(backend);
  const out = tf.tidy(f);
  const list = Array.isArray(out) ? out : [out];
  const res = await Promise.all(list.map(async (t) => ({ shape: t.shape, values: Float32Array.from(await t.data()) })));
  tf.dispose(list);
  return res;
}

/** Runs f on cpu and on webgpu: same shapes, relative error <= tol per output, no tensors left behind on webgpu.
 *  Returns the worst relative error seen (the tolerances above come from it). */
export async function expectSameOnWebgpu(f: () => tf.Tensor | tf.Tensor[], tol = OP_TOL): Promise<number> {
  const ref = await outputsOn('cpu', f);
  await tf.setBackend('webgpu');
  const startTensors = tf.memory().numTensors;
  const got = await outputsOn('webgpu', f);
  expect(tf.memory().numTensors, 'tensors leaked on webgpu').to.equal(startTensors);
  expect(got.length).to.equal(ref.length);
  let worst = 0;
  ref.forEach((r, i) => {
    expect(got[i]!.shape, `output ${i} shape`).to.deep.equal(r.shape);
    const err = relError(r.values, got[i]!.values);
    expect(err, `output ${i} relative error`).to.be.at.most(tol);
    worst = Math.max(worst, err);
  });
  return worst;
}
