// Test helpers for resident (oneDNN nChw16c) tensors: bf16 bits, the layout's offsets, NHWC values laid out resident,
// and entering bf16 mode where this CPU allows it.
import * as tf from '@tensorflow/tfjs';
import { expect } from 'chai';

import { loadAddon, type NativeAddon } from '../../src/backend/native/addon.js';
import type { NativeBackend } from '../../src/backend/native/backend.js';
import { nativeReady } from './helpers.js';
import { needsNative } from '../requires.js';

/** oneDNN ISAs with AVX-512 but no bf16 instructions, where it emulates bf16 (as in native-bf16.test.ts). */
const EMULATING = ['avx512_core', 'avx512_core_vnni'];

/** bf16 bits of x, rounded to nearest even (what oneDNN's conversions do). */
export function bf16Bits(x: number): number {
  const u = new Uint32Array(new Float32Array([x]).buffer)[0]!;
  return ((u + 0x7fff + ((u >>> 16) & 1)) >>> 16) & 0xffff;
}

export function fromBits(b: number): number {
  return new Float32Array(new Uint32Array([b << 16]).buffer)[0]!;
}

/** Offset of NHWC value (image, pixel, channel) in a resident tensor's nChw16c layout, [n, c/16, h*w, 16]. */
export function residentOffset(img: number, p: number, k: number, hw: number, c: number): number {
  return img * c * hw + (k >> 4) * hw * 16 + p * 16 + (k & 15);
}

/** [n, h, w, c] NHWC values laid out as a bf16-resident tensor (bf16 bits). */
export function toResident(values: Float32Array, n: number, hw: number, c: number): Uint16Array {
  const out = new Uint16Array(values.length);
  for (let img = 0; img < n; img++)
    for (let p = 0; p < hw; p++) for (let k = 0; k < c; k++) out[residentOffset(img, p, k, hw, c)] = bf16Bits(values[(img * hw + p) * c + k]!);
  return out;
}

/** The same as an fp32-resident tensor (values unchanged). */
export function toResidentF32(values: Float32Array, n: number, hw: number, c: number): Float32Array {
  const out = new Float32Array(values.length);
  for (let img = 0; img < n; img++)
    for (let p = 0; p < hw; p++) for (let k = 0; k < c; k++) out[residentOffset(img, p, k, hw, c)] = values[(img * hw + p) * c + k]!;
  return out;
}

/** bf16 mode natively or emulated; false (after checking the refusal) where oneDNN has no bf16 convolution. */
export function enterBf16(addon: NativeAddon): boolean {
  const isa = addon.info().isa ?? '';
  if (addon.bf16Supported?.()) addon.setPrecision!('bf16');
  else if (EMULATING.includes(isa)) addon.setPrecision!('bf16', true);
  else {
    expect(() => addon.setPrecision!('bf16'), `bf16 on ISA ${isa}`).to.throw(/AVX512_BF16 or AMX/);
    return false;
  }
  return true;
}

/** Registers a resident-tensor suite's hooks and returns its addon and backend (set once the native backend is there,
 *  then checked by `check`); each test ends in fp32 mode with the auto layout, the suite on the cpu backend. */
export function residentSuite(check?: (addon: NativeAddon) => void): { addon: NativeAddon; backend: NativeBackend } {
  const env = {} as { addon: NativeAddon; backend: NativeBackend };
  before(function () {
    needsNative(this, nativeReady());
    env.addon = loadAddon()!;
    env.backend = tf.findBackend('native') as NativeBackend;
    check?.(env.addon);
  });
  afterEach(() => {
    env.addon?.setPrecision?.('fp32');
    env.addon?.setConvLayout('auto');
  });
  after(() => tf.setBackend('cpu'));
  return env;
}
