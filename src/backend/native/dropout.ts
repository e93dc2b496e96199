// Dropout layers on the native backend: tf.dropout's exact mask and output from one addon call, instead of tfjs drawing
// every uniform number in JavaScript (2.4M per NIN step at batch 64, ~25 ms) and four elementwise kernels after it.
import * as tf from '@tensorflow/tfjs';
import type { Tensor } from '@tensorflow/tfjs';
import seedrandom from 'seedrandom';

import type { NativeBackend } from './backend.js';
import { NATIVE_BACKEND_NAME } from './gradients.js';
import { DROPOUT, DROPOUT_GRAD } from './kernels/dropout.js';

/** Alea's state after seeding with `seed` as tf.randomUniform seeds it (a number becomes its decimal string). */
export function aleaState(seed: number | string): [number, number, number, number] {
  const s = (seedrandom.alea(String(seed), { state: true }) as unknown as { state(): { s0: number; s1: number; s2: number; c: number } }).state();
  return [s.s0, s.s1, s.s2, s.c];
}

/**
 * tf.dropout(x, rate, undefined, seed) with the same bits: y = x * multiplier, multiplier = floor(u + keep) / keep for
 * tf.randomUniform's u. The gradient is dy * multiplier, as tfjs's (the Mul's gradient for x).
 */
function nativeDropout_(x: Tensor, rate: number, seed: number | string): Tensor {
  const engine = tf.engine();
  const op = tf.customGrad(((xi: Tensor, save: (t: Tensor[]) => void) => {
    const [y, mult] = engine.runKernel(DROPOUT, { x: xi }, { keep: 1 - rate, state: aleaState(seed) }) as Tensor[];
    save([mult!]);
    // dy * multiplier; the native kernel reads a resident multiplier (and dy) in its own layout.
    const gradFunc = (dy: Tensor, saved: Tensor[]) => (tf.getBackend() === NATIVE_BACKEND_NAME && dy.rank === 4 &&
      (tf.backend() as NativeBackend).addon.dropoutGrad ? engine.runKernel(DROPOUT_GRAD, { dy, multiplier: saved[0]! }) as Tensor : tf.mul(dy, saved[0]!));
    return { value: y!, gradFunc };
  }) as unknown as Parameters<typeof tf.customGrad>[0]);
  return op(x) as Tensor;
}

export const nativeDropout = tf.op({ nativeDropout_ });

/** The fields of a tfjs-layers Dropout instance read here (public at run time). */
interface DropoutFields {
  rate: number;
  noiseShape?: number[] | null;
  seed?: number;
}

type CallArgs = Parameters<tf.layers.Layer['call']>;

/** The layer's training output through nativeDropout, or undefined where its own call must run: another backend, not
 *  training, no seed (tfjs then seeds from Math.random), a noise shape, a rate outside (0, 1), an older addon. */
function nativeCall(layer: tf.layers.Layer, inputs: CallArgs[0], kwargs: CallArgs[1]): Tensor | undefined {
  const l = layer as unknown as DropoutFields;
  const x = Array.isArray(inputs) ? (inputs.length === 1 ? inputs[0] : undefined) : inputs;
  if (tf.getBackend() !== NATIVE_BACKEND_NAME || kwargs?.training !== true || l.seed == null || l.noiseShape != null ||
    !(l.rate > 0 && l.rate < 1) || !x || x.dtype !== 'float32' || !(tf.backend() as NativeBackend).addon.dropoutAlea) return undefined;
  const seed = l.seed;
  return tf.tidy(() => nativeDropout(x, l.rate, seed));
}

/** Makes a tf.layers.dropout layer train through nativeDropout on the native backend; elsewhere, and at inference,
 *  it runs as before. The class, config and saved models stay tfjs's. */
export function dropoutOnNative<L extends tf.layers.Layer>(layer: L): L {
  const own = layer.call.bind(layer);
  layer.call = (inputs, kwargs) => nativeCall(layer, inputs, kwargs) ?? own(inputs, kwargs);
  return layer;
}
