// Native kernel of dropout's training pass (see ../dropout.ts): tfjs's mask, drawn and applied in the addon.
import type { NativeBackend } from '../backend.js';
import { input, numAttr, sizeOf, type NativeKernel } from './common.js';

/** Input x; attrs keep (1 - rate) and state ([s0, s1, s2, c], seedrandom's Alea right after seeding); outputs
 *  y = x * multiplier and multiplier = floor(u + keep) / keep, bit for bit what tf.dropout gives for that seed. */
export const DROPOUT = 'GaplabDropout';

const dropout: NativeKernel = {
  kernelName: DROPOUT,
  impl: (inputs, backend: NativeBackend, attrs) => {
    const x = input(inputs, 'x');
    const xv = x && backend.f32(x);
    const state = attrs.state as number[] | undefined;
    const run = backend.addon.dropoutAlea;
    if (!x || !xv || !run || !Array.isArray(state) || state.length !== 4) {
      throw new Error(`${DROPOUT} needs float32 x, the Alea state [s0, s1, s2, c] and an addon with dropoutAlea`);
    }
    const n = sizeOf(x.shape);
    const y = backend.allocFloat32(n), mult = backend.allocFloat32(n);
    // An empty tensor: empty outputs (the addon takes no empty arrays).
    if (n > 0) run.call(backend.addon, xv, y, mult, Float64Array.from(state), numAttr(attrs, 'keep', 1));
    return [backend.makeOutput32(x.shape.slice(), y), backend.makeOutput32(x.shape.slice(), mult)];
  },
};

export const dropoutKernels: NativeKernel[] = [dropout];
