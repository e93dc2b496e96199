// Resident activations: conv outputs kept in oneDNN's nChw16c layout between convolutions (bf16 in precision bf16,
// fp32 otherwise), fp32 NHWC for every other reader; the ReLU-bias gradient on them; the first layer's input gradient
// skipped in the training step only.
import * as tf from '@tensorflow/tfjs';
import { expect } from 'chai';

import { convBiasRelu } from '../../src/backend/native/fused-conv.js';
import { reluBiasGradCalls } from '../../src/backend/native/kernels/fused.js';
import { variableGradsFreeing } from '../../src/train/grads.js';
import { nativeCount, outputsOn, randomArray, randomTensor, relError } from './helpers.js';
import { bf16Bits, enterBf16, fromBits, residentSuite, toResident, toResidentF32 } from './resident-helpers.js';

describe('native backend: resident activations', function () {
  this.timeout(60_000);
  const env = residentSuite();

  it('residentToF32 puts value (image, pixel, channel) of the nChw16c bf16 layout at NHWC row image*hw + pixel', () => {
    // [2, 1, 3, 32]: value = 8*image + pixel + channel/32, compared as the bf16 values they round to.
    const n = 2, hw = 3, c = 32;
    const nhwc = new Float32Array(n * hw * c);
    for (let i = 0; i < n; i++) for (let p = 0; p < hw; p++) for (let k = 0; k < c; k++) nhwc[(i * hw + p) * c + k] = i * 8 + p + k / 32;
    const res = toResident(nhwc, n, hw, c);
    // Hand-computed: image 1, pixel 2, channel 17 sits at 1*32*3 + 1*3*16 + 2*16 + 1 = 177.
    expect(fromBits(res[177]!)).to.equal(fromBits(bf16Bits(1 * 8 + 2 + 17 / 32)));
    const out = new Float32Array(nhwc.length);
    env.addon.residentToF32!(res, out, c, hw);
    for (let i = 0; i < nhwc.length; i++) expect(out[i], `value ${i}`).to.equal(fromBits(bf16Bits(nhwc[i]!)));
    expect(() => env.addon.residentToF32!(res, out, 24, hw)).to.throw(/multiple of 16/);
    expect(() => env.addon.residentToF32!(res, new Float32Array(5), c, hw)).to.throw(/dst has 5 elements/);
  });

  it('reluBiasGradResident: dz = dy where y > 0, rounded to bf16 in the resident layout; db sums dz before rounding', () => {
    const n = 2, hw = 6, c = 32, len = n * hw * c;
    const dy = randomArray(len, 7), y = randomArray(len, 8);
    // Signs the mask must get right: +0, -0, a NaN, +inf, and the smallest bf16 subnormal.
    y[0] = 0; y[1] = -0; y[2] = NaN; y[3] = Infinity; y[4] = fromBits(1);
    const yRes = toResident(y, n, hw, c), dyRes = toResident(dy, n, hw, c);
    const yRounded = new Float32Array(len), dyRounded = new Float32Array(len);
    env.addon.residentToF32!(yRes, yRounded, c, hw);
    env.addon.residentToF32!(dyRes, dyRounded, c, hw);
    for (const [dyIn, yIn, dyRef, yRef, what] of [
      [dy, y, dy, y, 'fp32 dy, fp32 y'], [dy, yRes, dy, yRounded, 'fp32 dy, resident y'],
      [dyRes, yRes, dyRounded, yRounded, 'resident dy and y'],
    ] as const) {
      const dz = new Uint16Array(len), db = new Float32Array(c);
      env.addon.reluBiasGradResident!(dyIn, yIn, dz, db, c, hw);
      // Reference: the fp32 kernel on the same values, then dz rounded into the resident layout.
      const refDz = new Float32Array(len), refDb = new Float32Array(c);
      env.addon.reluBiasGrad!(dyRef, yRef, refDz, refDb, c);
      expect(Array.from(dz), `${what}: dz`).to.deep.equal(Array.from(toResident(refDz, n, hw, c)));
      expect(relError(refDb, db), `${what}: db`).to.be.at.most(1e-6);
    }
    // In place over a bf16 dy: the same values as into a fresh dz.
    const fresh = new Uint16Array(len), inPlace = dyRes.slice(), db = new Float32Array(c);
    env.addon.reluBiasGradResident!(dyRes, yRes, fresh, db, c, hw);
    env.addon.reluBiasGradResident!(inPlace, yRes, inPlace, db, c, hw);
    expect(Array.from(inPlace)).to.deep.equal(Array.from(fresh));
    // The mask by hand: y = +0, -0 and NaN give 0; +inf and the smallest subnormal pass dy through.
    const dz = new Uint16Array(len), out = new Float32Array(len);
    env.addon.reluBiasGradResident!(dy, y, dz, db, c, hw);
    env.addon.residentToF32!(dz, out, c, hw);
    expect(Array.from(out.subarray(0, 5))).to.deep.equal([0, 0, 0, fromBits(bf16Bits(dy[3]!)), fromBits(bf16Bits(dy[4]!))]);
  });

  it('a bf16 convolution with 16k output channels stays resident until a kernel reads fp32, which gets its bf16 values', function () {
    if (!enterBf16(env.addon)) return;
    const x = randomTensor([2, 6, 6, 16], 1), w = randomTensor([3, 3, 16, 32], 2);
    const heap0 = env.backend.heapBytes(), resident0 = env.backend.residentCount();
    tf.setBackend('native');
    const xs = tf.tensor(x.dataSync(), x.shape), ws = tf.tensor(w.dataSync(), w.shape);
    const y = tf.conv2d(xs as tf.Tensor4D, ws as tf.Tensor4D, 1, 'same');
    expect(env.backend.resident(y), 'resident after the convolution').to.not.equal(undefined);
    expect(env.backend.residentCount()).to.equal(resident0 + 1);
    const got = y.dataSync();
    expect(env.backend.resident(y), 'fp32 once read').to.equal(undefined);
    expect(env.backend.residentCount()).to.equal(resident0);
    // The same convolution in bf16 with fp32 output (a fixed layout: no resident outputs), rounded to bf16: every
    // value the same or one bf16 step away (oneDNN may sum in another order for a bf16 destination).
    env.addon.setConvLayout('blocked');
    const y32 = tf.conv2d(xs as tf.Tensor4D, ws as tf.Tensor4D, 1, 'same');
    expect(env.backend.resident(y32), 'fixed layouts stay fp32').to.equal(undefined);
    const ref = y32.dataSync();
    for (let i = 0; i < ref.length; i++) {
      expect(new Float32Array([got[i]!])[0], `value ${i} is a bf16 value`).to.equal(fromBits(bf16Bits(got[i]!)));
      expect(Math.abs(bf16Bits(got[i]!) - bf16Bits(ref[i]!)), `value ${i}: ${got[i]} vs ${ref[i]}`).to.be.at.most(1);
    }
    tf.dispose([xs, ws, y, y32, x, w]);
    expect(env.backend.heapBytes(), 'heap back where it was').to.equal(heap0);
  });

  it('forward and backward of two fused conv layers through resident tensors agree with fp32 to bf16 precision', function () {
    if (!enterBf16(env.addon)) return;
    const shapes = { x: [2, 8, 8, 16], w1: [3, 3, 16, 32], b1: [32], w2: [1, 1, 32, 16], b2: [16], g: [2, 8, 8, 16] };
    // Non-negative inputs, weights and biases keep every pre-activation well above 0: bf16 rounds the convolution's sum
    // before its bias and ReLU where the output is bf16, which flips ReLU masks of values near 0 (each flip moves a
    // gradient by O(|g|)); the masks themselves are checked exactly above. g has both signs.
    const make = () => Object.fromEntries(Object.entries(shapes).map(([k, s], i) =>
      [k, k === 'g' ? randomTensor(s, 20 + i) : tf.abs(randomTensor(s, 20 + i))])) as Record<keyof typeof shapes, tf.Tensor>;
    const geo = { strides: [1, 1] as [number, number], pad: 'same' as const };
    // cpu: the same function with unfused ops; native: convBiasRelu, whose outputs (32 and 16 channels) are resident.
    const run = (fused: boolean) => () => {
      const t = make();
      const f = (x: tf.Tensor, w1: tf.Tensor, b1: tf.Tensor, w2: tf.Tensor, b2: tf.Tensor) => {
        const layer = (a: tf.Tensor, w: tf.Tensor, b: tf.Tensor) => fused
          ? convBiasRelu(a as tf.Tensor4D, w as tf.Tensor4D, b as tf.Tensor1D, geo)
          : tf.relu(tf.add(tf.conv2d(a as tf.Tensor4D, w as tf.Tensor4D, 1, 'same'), b));
        return tf.sum(tf.mul(layer(layer(x, w1, b1), w2, b2), t.g));
      };
      return tf.grads(f)([t.x, t.w1, t.b1, t.w2, t.b2]);
    };
    const ref = outputsOn('cpu', run(false));
    const calls = reluBiasGradCalls.resident, tensors = tf.memory().numTensors, heap0 = env.backend.heapBytes();
    const got = outputsOn('native', run(true));
    expect(reluBiasGradCalls.resident - calls, 'both ReLU-bias gradients (32 and 16 channels) written resident').to.equal(2);
    expect(tf.memory().numTensors, 'tensors left behind').to.equal(tensors);
    expect(env.backend.heapBytes(), 'heap blocks left behind').to.equal(heap0);
    // A scrambled layout would be off by O(1); two bf16 layers stay within a few 2^-8.
    ['dx', 'dw1', 'db1', 'dw2', 'db2'].forEach((what, i) => expect(relError(ref[i]!.values, got[i]!.values), what).to.be.below(0.02));
  });

  it('fp32: residentToF32 and reluBiasGradResident on fp32 nChw16c give the fp32 kernels\' values exactly', () => {
    const n = 2, hw = 5, c = 48, len = n * hw * c;
    const dy = randomArray(len, 11), y = randomArray(len, 12);
    const back = new Float32Array(len);
    env.addon.residentToF32!(toResidentF32(y, n, hw, c), back, c, hw);
    expect(Array.from(back)).to.deep.equal(Array.from(y));
    const refDz = new Float32Array(len), refDb = new Float32Array(c);
    env.addon.reluBiasGrad!(dy, y, refDz, refDb, c);
    // dy NHWC with y resident, and both resident (blocked mask bits 2 and 3).
    for (const [dyIn, blocked] of [[dy, 2], [toResidentF32(dy, n, hw, c), 3]] as const) {
      const dz = new Float32Array(len), db = new Float32Array(c);
      env.addon.reluBiasGradResident!(dyIn, toResidentF32(y, n, hw, c), dz, db, c, hw, blocked);
      expect(Array.from(dz), `blocked ${blocked}: dz`).to.deep.equal(Array.from(toResidentF32(refDz, n, hw, c)));
      expect(relError(refDb, db), `blocked ${blocked}: db`).to.be.at.most(1e-6);
    }
    // In place: dz written over a resident dy gives the same values; dz partly over dy, or over an NHWC dy, is refused.
    const dyRes = toResidentF32(dy, n, hw, c), db = new Float32Array(c);
    env.addon.reluBiasGradResident!(dyRes, toResidentF32(y, n, hw, c), dyRes, db, c, hw, 3);
    expect(Array.from(dyRes), 'in place').to.deep.equal(Array.from(toResidentF32(refDz, n, hw, c)));
    const shared = new Float32Array(len + 16);
    expect(() => env.addon.reluBiasGradResident!(shared.subarray(0, len), y, shared.subarray(16), db, c, hw, 1), 'overlap')
      .to.throw(/dz must be dy/);
    const plain = dy.slice();
    expect(() => env.addon.reluBiasGradResident!(plain, y, plain, db, c, hw, 0), 'NHWC dy').to.throw(/dz must be dy/);
  });

  it('fp32: a 16k-channel convolution output stays resident, bit for bit the blocked convolution\'s NHWC output', () => {
    env.addon.setPrecision?.('fp32');
    tf.setBackend('native');
    const x = randomTensor([2, 6, 6, 16], 50), w = randomTensor([3, 3, 16, 32], 51);
    const heap0 = env.backend.heapBytes();
    const y = tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, 1, 'same');
    const r = env.backend.resident(y);
    expect(r?.view, 'an fp32-resident output').to.be.instanceOf(Float32Array);
    const got = Array.from(y.dataSync());
    expect(env.backend.resident(y), 'fp32 NHWC once read').to.equal(undefined);
    env.addon.setConvLayout('blocked');
    const y2 = tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, 1, 'same');
    expect(env.backend.resident(y2)).to.equal(undefined);
    expect(got).to.deep.equal(Array.from(y2.dataSync()));
    tf.dispose([x, w, y, y2]);
    expect(env.backend.heapBytes()).to.equal(heap0);
  });

  it('fp32: two fused conv layers through resident tensors give the cpu backend\'s output and gradients (1e-5)', () => {
    env.addon.setPrecision?.('fp32');
    const shapes = [[2, 8, 8, 16], [3, 3, 16, 32], [32], [1, 1, 32, 16], [16], [2, 8, 8, 16]];
    const geo = { strides: [1, 1] as [number, number], pad: 'same' as const };
    const run = (fused: boolean) => () => {
      const [x, w1, b1, w2, b2, g] = shapes.map((sh, i) => randomTensor(sh, 60 + i));
      const layer = (a: tf.Tensor, w: tf.Tensor, b: tf.Tensor) => fused
        ? convBiasRelu(a as tf.Tensor4D, w as tf.Tensor4D, b as tf.Tensor1D, geo)
        : tf.relu(tf.add(tf.conv2d(a as tf.Tensor4D, w as tf.Tensor4D, 1, 'same'), b));
      const f = (a: tf.Tensor, c1: tf.Tensor, d1: tf.Tensor, c2: tf.Tensor, d2: tf.Tensor) => tf.sum(tf.mul(layer(layer(a, c1, d1), c2, d2), g!));
      return [layer(layer(x!, w1!, b1!), w2!, b2!), ...tf.grads(f)([x!, w1!, b1!, w2!, b2!])];
    };
    const ref = outputsOn('cpu', run(false));
    const calls = reluBiasGradCalls.resident, tensors = tf.memory().numTensors, heap0 = env.backend.heapBytes();
    const got = outputsOn('native', run(true));
    expect(reluBiasGradCalls.resident - calls, 'both ReLU-bias gradients written resident').to.equal(2);
    expect(tf.memory().numTensors).to.equal(tensors);
    expect(env.backend.heapBytes()).to.equal(heap0);
    ['y', 'dx', 'dw1', 'db1', 'dw2', 'db2'].forEach((what, i) => expect(relError(ref[i]!.values, got[i]!.values), what).to.be.at.most(1e-5));
  });

  it('reluBiasGradResident: the AVX-512 and baseline builds of its loops give the same bits, for every storage pair', () => {
    const n = 3, hw = 7, c = 48, len = n * hw * c;
    const dy = randomArray(len, 21), y = randomArray(len, 22);
    y[0] = NaN; y[1] = -0; dy[2] = Infinity;
    // dy and y each fp32 NHWC, fp32 nChw16c or bf16; dz fp32 or bf16 (blocked bits: 1 dy, 2 y).
    const stores = (v: Float32Array) => [[v, 0], [toResidentF32(v, n, hw, c), 1], [toResident(v, n, hw, c), 0]] as const;
    const run = () => {
      const out: number[][] = [];
      for (const [dyIn, dyBit] of stores(dy))
        for (const [yIn, yBit] of stores(y))
          for (const dz of [new Float32Array(len), new Uint16Array(len)]) {
            const db = new Float32Array(c);
            env.addon.reluBiasGradResident!(dyIn, yIn, dz, db, c, hw, dyBit | (yBit ? 2 : 0));
            out.push(Array.from(dz), Array.from(new Uint32Array(db.buffer)));
          }
      return out;
    };
    const available = env.addon.setLoopIsa!('avx512');
    const fast = run();
    expect(env.addon.setLoopIsa!('base')).to.equal('base');
    try {
      // On a CPU without AVX-512 both runs are the baseline loops (this machine then checks nothing more).
      expect(run()).to.deep.equal(fast);
    } finally {
      env.addon.setLoopIsa!(available);
    }
  });

  it('fp32: the training step writes each resident ReLU-bias gradient over its donated dy, with tf.grads\' values', () => {
    tf.setBackend('native');
    const geo = { strides: [1, 1] as [number, number], pad: 'same' as const };
    const x = randomTensor([2, 8, 8, 16], 110), g = randomTensor([2, 8, 8, 16], 111);
    const vars = [[3, 3, 16, 32], [32], [1, 1, 32, 16], [16]].map((sh, i) => tf.variable(randomTensor(sh, 112 + i)));
    const [w1, b1, w2, b2] = vars as [tf.Variable, tf.Variable, tf.Variable, tf.Variable];
    const layers = (c1: tf.Tensor, d1: tf.Tensor, c2: tf.Tensor, d2: tf.Tensor) => {
      const h = convBiasRelu(x as tf.Tensor4D, c1 as tf.Tensor4D, d1 as tf.Tensor1D, geo);
      return tf.sum(tf.mul(convBiasRelu(h, c2 as tf.Tensor4D, d2 as tf.Tensor1D, geo), g)) as tf.Scalar;
    };
    const want = tf.grads(layers)([w1, b1, w2, b2]);
    const calls = { ...reluBiasGradCalls }, tensors = tf.memory().numTensors, heap0 = env.backend.heapBytes();
    const { value, grads } = variableGradsFreeing(() => layers(w1, b1, w2, b2), vars);
    // The second layer's dy is the loss's gradient (fp32 NHWC, not resident): allocated; the first layer's is the
    // second's input gradient, resident and donated: in place.
    expect(reluBiasGradCalls.inPlace - calls.inPlace, 'in place').to.equal(1);
    expect(reluBiasGradCalls.resident - calls.resident, 'written resident').to.equal(2);
    vars.forEach((v, i) => expect(Array.from(grads[v.name]!.dataSync()), v.name).to.deep.equal(Array.from(want[i]!.dataSync())));
    tf.dispose([value, ...Object.values(grads)]);
    expect(tf.memory().numTensors, 'tensors left behind').to.equal(tensors);
    expect(env.backend.heapBytes(), 'heap blocks left behind').to.equal(heap0);
    tf.dispose([x, g, ...vars, ...want]);
  });

  it('the training step skips the input gradient of a first layer; tf.grad of the input still computes it', () => {
    tf.setBackend('native');
    const x = randomTensor([2, 6, 6, 3], 40), w = tf.variable(randomTensor([3, 3, 3, 16], 41)), b = tf.variable(randomTensor([16], 42));
    const loss = () => tf.sum(convBiasRelu(x as tf.Tensor4D, w as unknown as tf.Tensor4D, b as unknown as tf.Tensor1D, { strides: [1, 1], pad: 'same' })) as tf.Scalar;
    const before = nativeCount('Conv2DBackpropInput'), filters = nativeCount('Conv2DBackpropFilter');
    const { value, grads } = variableGradsFreeing(loss, [w, b]);
    expect(nativeCount('Conv2DBackpropFilter') - filters).to.equal(1);
    expect(nativeCount('Conv2DBackpropInput') - before, 'no input gradient in the training step').to.equal(0);
    tf.dispose([value, ...Object.values(grads)]);
    // The input's own gradient (saliency maps, tf.grad) is computed as before.
    const dx = tf.grad((xi: tf.Tensor) => tf.sum(convBiasRelu(xi as tf.Tensor4D, w as unknown as tf.Tensor4D, b as unknown as tf.Tensor1D, { strides: [1, 1], pad: 'same' })))(x);
    expect(nativeCount('Conv2DBackpropInput') - before).to.equal(1);
    const xv = x.dataSync(), wv = w.dataSync(), bv = b.dataSync();
    const ref = outputsOn('cpu', () => tf.grad((xi: tf.Tensor) =>
      tf.sum(tf.relu(tf.add(tf.conv2d(xi as tf.Tensor4D, tf.tensor(wv, [3, 3, 3, 16]) as tf.Tensor4D, 1, 'same'), tf.tensor(bv)))))(tf.tensor(xv, x.shape)));
    tf.setBackend('native');
    expect(relError(ref[0]!.values, dx.dataSync())).to.be.at.most(1e-5);
    tf.dispose([x, w, b, dx]);
  });
});
