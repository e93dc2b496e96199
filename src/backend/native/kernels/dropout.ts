// Native kernels of dropout's training pass and its gradient (see ../dropout.ts): tfjs's mask, drawn and applied in
// the addon, on fp32 NHWC or resident tensors.
import type { NativeBackend } from '../backend.js';
import { aleaStarts, type AleaState } from '../alea-jump.js';
import { blockedBit, input, numAttr, sizeOf, type NativeKernel } from './common.js';

/** Input x; attrs keep (1 - rate) and state ([s0, s1, s2, c], seedrandom's Alea right after seeding); outputs
 *  y = x * multiplier and multiplier = floor(u + keep) / keep, bit for bit what tf.dropout gives for that seed. A
 *  resident x (the pooled output of a block) gives a resident y (the next convolution's input, no reorder) in the
 *  current precision and an fp32 resident multiplier; otherwise both are fp32 NHWC. */
export const DROPOUT = 'GaplabDropout';

/** Inputs dy and multiplier (dropout's second output); output dy * multiplier in float32, as tf.mul gives it. */
export const DROPOUT_GRAD = 'GaplabDropoutGrad';

const dropout: NativeKernel = {
  kernelName: DROPOUT,
  impl: (inputs, backend: NativeBackend, attrs) => {
    const x = input(inputs, 'x');
    const xo = x && backend.operand(x, true);
    const state = attrs.state as number[] | undefined;
    const run = backend.addon.dropoutAlea;
    if (!x || !xo || !run || !Array.isArray(state) || state.length !== 4) {
      throw new Error(`${DROPOUT} needs float32 x, the Alea state [s0, s1, s2, c] and an addon with dropoutAlea`);
    }
    const keep = numAttr(attrs, 'keep', 1);
    const shape = x.shape.slice();
    // One chunk of draws per thread, each from its own jumped-ahead start: the same values as one sequential draw.
    const st = aleaStarts(state as unknown as AleaState, sizeOf(shape), backend.addon.getThreads());
    if (xo.resident && backend.addon.dropoutGrad) {
      const [, h, w, c] = shape as [number, number, number, number];
      const out = backend.residentOutputsOf([{ shape }, { shape, f32: true }], ([y, mult]) =>
        run.call(backend.addon, xo.v, y!, mult as Float32Array, st, keep, c, h * w));
      if (out) return out;
    }
    const xv = xo.resident ? backend.f32(x)! : (xo.v as Float32Array);
    const n = sizeOf(shape);
    const y = backend.allocFloat32(n), mult = backend.allocFloat32(n);
    // An empty tensor: empty outputs (the addon takes no empty arrays).
    if (n > 0) run.call(backend.addon, xv, y, mult, st, keep);
    return [backend.makeOutput32(shape, y), backend.makeOutput32(shape.slice(), mult)];
  },
};

/** dz is resident in fp32 nChw16c where dy is resident (in either precision: a bf16 dz would round the product),
 *  else fp32 NHWC. */
const dropoutGrad: NativeKernel = {
  kernelName: DROPOUT_GRAD,
  impl: (inputs, backend: NativeBackend) => {
    const dy = input(inputs, 'dy'), mult = input(inputs, 'multiplier');
    const dyo = dy && backend.operand(dy, true), mo = mult && backend.operand(mult, true);
    const run = backend.addon.dropoutGrad;
    if (!dy || !mult || !dyo || !mo || !run || dy.shape.length !== 4 || dy.shape.join() !== mult.shape.join() || mo.v instanceof Uint16Array) {
      throw new Error(`${DROPOUT_GRAD} needs float32 dy and multiplier of one [n, h, w, c] shape and an addon with dropoutGrad`);
    }
    const shape = dy.shape.slice();
    const [, h, w, c] = shape as [number, number, number, number];
    const bits = blockedBit(dyo, 1) | blockedBit(mo, 2);
    const write = (dz: Float32Array, blocked: boolean) => run.call(backend.addon, dyo.v, mo.v as Float32Array, dz, c, h * w, bits | (blocked ? 4 : 0));
    if (sizeOf(shape) === 0) return backend.makeOutput32(shape, new Float32Array(0));
    const resident = dyo.resident ? backend.residentOutputsOf([{ shape, f32: true }], ([v]) => write(v as Float32Array, true))?.[0] : undefined;
    if (resident) return resident;
    const dz = backend.allocFloat32(sizeOf(shape));
    write(dz, false);
    return backend.makeOutput32(shape, dz);
  },
};

export const dropoutKernels: NativeKernel[] = [dropout, dropoutGrad];
