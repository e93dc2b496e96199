// Native kernel of the fused conv + bias + ReLU layer's backward pass (see ../fused-conv.ts): ReLU gradient and bias
// gradient in one pass over the activation.
import type { NativeBackend } from '../backend.js';
import { blockedBit, input, sizeOf, type NativeKernel } from './common.js';

/** Inputs dy, y ([..., C], y the layer's output relu(z + bias)); outputs dz = dy where y > 0, and db [C] = sum of dz.
 *  Attr inPlace: dz is written over dy's buffer and shares it (dy must be donated, see src/backend/donation.ts). */
export const RELU_BIAS_GRAD = 'GaplabReluBiasGrad';

/** Calls so far that wrote dz over a donated dy, that allocated it, and that wrote it resident (tests check
 *  which path runs). */
export const reluBiasGradCalls = { inPlace: 0, allocated: 0, resident: 0 };

const reluBiasGrad: NativeKernel = {
  kernelName: RELU_BIAS_GRAD,
  impl: (inputs, backend: NativeBackend, attrs) => {
    const dy = input(inputs, 'dy'), y = input(inputs, 'y');
    // Resident dy and y are read in their own layout (the mask only needs y's sign).
    // (either precision: the addon reads fp32 and bf16 nChw16c, and a pooling gradient hands over fp32 nChw16c in bf16).
    const dyo = dy && backend.operand(dy, true), yo = y && backend.operand(y, true);
    const run = backend.addon.reluBiasGrad;
    if (!dy || !y || !dyo || !yo || !run || y.shape.length === 0 || dy.shape.join() !== y.shape.join()) {
      throw new Error(`${RELU_BIAS_GRAD} needs float32 dy and y of one shape (and an addon with reluBiasGrad)`);
    }
    const c = y.shape[y.shape.length - 1]!;
    const n = sizeOf(y.shape);
    // An empty batch: empty dz, zero bias gradient (the addon takes whole rows of c >= 1 values only).
    if (n === 0 || c === 0) return [backend.makeOutput32(y.shape.slice(), new Float32Array(0)), backend.makeOutput32([c], new Float32Array(c))];
    const db = backend.allocFloat32(c);
    // Where the convolutions take resident operands, dz goes to their two backward passes resident (no reorder in
    // either).
    // A Float32Array is resident (fp32 nChw16c) only where operand() says so: bit 1 for dy, 2 for y.
    const blocked = blockedBit(dyo, 1) | blockedBit(yo, 2);
    if (attrs.inPlace === true && dyo.resident && (dyo.v instanceof Uint16Array) === backend.bf16() && backend.residentOutputs(c) &&
      backend.addon.reluBiasGradResident) {
      // A donated resident dy (in the current precision, as operand() gave it) takes dz in its own block: each value
      // is read, then written where it was. The output shares dy's resident entry.
      backend.addon.reluBiasGradResident(dyo.v, yo.v, dyo.v, db, c, y.shape[1]! * y.shape[2]!, blocked);
      reluBiasGradCalls.resident++;
      reluBiasGradCalls.inPlace++;
      backend.incRef(dy.dataId);
      return [{ dataId: dy.dataId, shape: y.shape.slice(), dtype: 'float32' }, backend.makeOutput32([c], db)];
    }
    const resident = backend.addon.reluBiasGradResident && backend.residentOutput(y.shape, (view) =>
      backend.addon.reluBiasGradResident!(dyo.v, yo.v, view, db, c, y.shape[1]! * y.shape[2]!, blocked));
    if (resident) {
      reluBiasGradCalls.resident++;
      return [resident, backend.makeOutput32([c], db)];
    }
    // Otherwise dz is fp32 NHWC, from dy's and y's fp32 values (resident ones converted).
    const g = dyo.resident ? backend.f32(dy)! : (dyo.v as Float32Array);
    const yv = yo.resident ? backend.f32(y)! : (yo.v as Float32Array);
    if (attrs.inPlace === true) {
      reluBiasGradCalls.inPlace++;
      run.call(backend.addon, g, yv, g, db, c);
      backend.incRef(dy.dataId);
      return [{ dataId: dy.dataId, shape: y.shape.slice(), dtype: 'float32' }, backend.makeOutput32([c], db)];
    }
    reluBiasGradCalls.allocated++;
    const dz = backend.allocFloat32(n);
    run.call(backend.addon, g, yv, dz, db, c);
    return [backend.makeOutput32(y.shape.slice(), dz), backend.makeOutput32([c], db)];
  },
};

export const fusedKernels: NativeKernel[] = [reluBiasGrad];
