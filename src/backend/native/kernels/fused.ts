// Native kernel of the fused conv + bias + ReLU layer's backward pass (see ../fused-conv.ts): ReLU gradient and bias
// gradient in one pass over the activation.
import type { NativeBackend } from '../backend.js';
import { input, sizeOf, type NativeKernel } from './common.js';

/** Inputs dy, y ([..., C], y the layer's output relu(z + bias)); outputs dz = dy where y > 0, and db [C] = sum of dz.
 *  Attr inPlace: dz is written over dy's buffer and shares it (dy must be donated, see src/backend/donation.ts). */
export const RELU_BIAS_GRAD = 'GaplabReluBiasGrad';

/** Calls so far that wrote dz over a donated dy, that allocated it, and that wrote it bf16-resident (tests check
 *  which path runs). */
export const reluBiasGradCalls = { inPlace: 0, allocated: 0, resident: 0 };

const reluBiasGrad: NativeKernel = {
  kernelName: RELU_BIAS_GRAD,
  impl: (inputs, backend: NativeBackend, attrs) => {
    const dy = input(inputs, 'dy'), y = input(inputs, 'y');
    // Resident dy and y are read in their own layout (the mask only needs y's sign); dy goes fp32 unless dz is resident.
    const dyv = dy && backend.operand(dy), yv = y && backend.operand(y);
    const run = backend.addon.reluBiasGrad;
    if (!dy || !y || !dyv || !yv || !run || y.shape.length === 0 || dy.shape.join() !== y.shape.join()) {
      throw new Error(`${RELU_BIAS_GRAD} needs float32 dy and y of one shape (and an addon with reluBiasGrad)`);
    }
    const c = y.shape[y.shape.length - 1]!;
    const n = sizeOf(y.shape);
    // An empty batch: empty dz, zero bias gradient (the addon takes whole rows of c >= 1 values only).
    if (n === 0 || c === 0) return [backend.makeOutput32(y.shape.slice(), new Float32Array(0)), backend.makeOutput32([c], new Float32Array(c))];
    const db = backend.allocFloat32(c);
    // In bf16, dz goes bf16-resident to the convolution's two backward passes (no reorder in either).
    const res = y.shape.length === 4 && backend.addon.reluBiasGradResident && backend.residentOutputs(c)
      ? backend.allocResident(n) : undefined;
    if (res) {
      reluBiasGradCalls.resident++;
      backend.addon.reluBiasGradResident!(dyv, yv, res.view, db, c, hwOf(y.shape));
      return [backend.makeResident(y.shape, res), backend.makeOutput32([c], db)];
    }
    // Otherwise dz is fp32: a resident dy is turned into fp32 values first (a resident y is read as it is).
    const g = dyv instanceof Uint16Array ? backend.f32(dy)! : dyv;
    if (attrs.inPlace === true) {
      reluBiasGradCalls.inPlace++;
      run.call(backend.addon, g, yv, g, db, c, hwOf(y.shape));
      backend.incRef(dy.dataId);
      return [{ dataId: dy.dataId, shape: y.shape.slice(), dtype: 'float32' }, backend.makeOutput32([c], db)];
    }
    reluBiasGradCalls.allocated++;
    const dz = backend.allocFloat32(n);
    run.call(backend.addon, g, yv, dz, db, c, hwOf(y.shape));
    return [backend.makeOutput32(y.shape.slice(), dz), backend.makeOutput32([c], db)];
  },
};

/** Pixels per image of an [n, h, w, c] tensor (what a resident y's layout needs; 1 for other ranks). */
function hwOf(shape: number[]): number {
  return shape.length === 4 ? shape[1]! * shape[2]! : 1;
}

export const fusedKernels: NativeKernel[] = [reluBiasGrad];
