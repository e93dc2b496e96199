// Native kernel of the SGD-momentum update (see src/train/optimizer.ts): weight decay, buffer and step in one pass.
import type { NativeBackend } from '../backend.js';
import { boolAttr, input, numAttr, sizeOf, type NativeKernel } from './common.js';

/** Inputs w, g, m (one variable, its gradient and momentum buffer); attrs weightDecay (0: none), momentum, lr,
 *  nesterov; outputs [w', m'], the float32 values Sgd's tfjs ops give. */
export const SGD_MOMENTUM = 'GaplabSgdMomentum';

const sgdMomentum: NativeKernel = {
  kernelName: SGD_MOMENTUM,
  impl: (inputs, backend: NativeBackend, attrs) => {
    const w = input(inputs, 'w'), g = input(inputs, 'g'), m = input(inputs, 'm');
    const wv = w && backend.f32(w), gv = g && backend.f32(g), mv = m && backend.f32(m);
    const run = backend.addon.sgdMomentum;
    if (!w || !g || !m || !wv || !gv || !mv || !run || wv.length !== gv.length || wv.length !== mv.length) {
      throw new Error(`${SGD_MOMENTUM} needs float32 w, g and m of one size (and an addon with sgdMomentum)`);
    }
    const n = sizeOf(w.shape);
    const wOut = backend.allocFloat32(n), mOut = backend.allocFloat32(n);
    if (n > 0) {
      run.call(backend.addon, wv, gv, mv, wOut, mOut, numAttr(attrs, 'weightDecay', 0), numAttr(attrs, 'momentum', 0),
        numAttr(attrs, 'lr', 0), boolAttr(attrs, 'nesterov', false));
    }
    return [backend.makeOutput32(w.shape.slice(), wOut), backend.makeOutput32(w.shape.slice(), mOut)];
  },
};

export const sgdKernels: NativeKernel[] = [sgdMomentum];
