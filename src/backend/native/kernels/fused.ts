// Native kernel of the fused conv + bias + ReLU layer's backward pass (see ../fused-conv.ts): ReLU gradient and bias
// gradient in one pass over the activation.
import type { NativeBackend } from '../backend.js';
import { input, sizeOf, type NativeKernel } from './common.js';

/** Inputs dy, y ([..., C], y the layer's output relu(z + bias)); outputs dz = dy where y > 0, and db [C] = sum of dz.
 *  Attr inPlace: dz is written over dy's buffer and shares it (dy must be donated, see src/backend/donation.ts). */
export const RELU_BIAS_GRAD = 'GaplabReluBiasGrad';

/** Calls so far that wrote dz over a donated dy, and that allocated it (tests check the in-place path runs). */
export const reluBiasGradCalls = { inPlace: 0, allocated: 0 };

const reluBiasGrad: NativeKernel = {
  kernelName: RELU_BIAS_GRAD,
  impl: (inputs, backend: NativeBackend, attrs) => {
    const dy = input(inputs, 'dy'), y = input(inputs, 'y');
    const dyv = dy && backend.f32(dy), yv = y && backend.f32(y);
    const run = backend.addon.reluBiasGrad;
    if (!dy || !y || !dyv || !yv || !run || y.shape.length === 0 || dy.shape.join() !== y.shape.join()) {
      throw new Error(`${RELU_BIAS_GRAD} needs float32 dy and y of one shape (and an addon with reluBiasGrad)`);
    }
    const c = y.shape[y.shape.length - 1]!;
    const n = sizeOf(y.shape);
    // An empty batch: empty dz, zero bias gradient (the addon takes whole rows of c >= 1 values only).
    if (n === 0 || c === 0) return [backend.makeOutput32(y.shape.slice(), new Float32Array(0)), backend.makeOutput32([c], new Float32Array(c))];
    const db = backend.allocFloat32(c);
    if (attrs.inPlace === true) {
      reluBiasGradCalls.inPlace++;
      run.call(backend.addon, dyv, yv, dyv, db, c);
      backend.incRef(dy.dataId);
      return [{ dataId: dy.dataId, shape: y.shape.slice(), dtype: 'float32' }, backend.makeOutput32([c], db)];
    }
    reluBiasGradCalls.allocated++;
    const dz = backend.allocFloat32(n);
    run.call(backend.addon, dyv, yv, dz, db, c);
    return [backend.makeOutput32(y.shape.slice(), dz), backend.makeOutput32([c], db)];
  },
};

export const fusedKernels: NativeKernel[] = [reluBiasGrad];
