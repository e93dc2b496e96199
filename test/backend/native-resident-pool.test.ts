// Pooling and dropout on resident tensors: a block's pooled output and its dropout stay in oneDNN's nChw16c layout
// (the next convolution reads them with no reorder), with the values and gradients of the fp32 NHWC kernels.
import * as tf from '@tensorflow/tfjs';
import { expect } from 'chai';

import { aleaStarts } from '../../src/backend/native/alea-jump.js';
import { aleaState, nativeDropout } from '../../src/backend/native/dropout.js';
import { convBiasRelu } from '../../src/backend/native/fused-conv.js';
import { nativeCount, outputsOn, randomArray, randomTensor, relError } from './helpers.js';
import { bf16Bits, enterBf16, fromBits, residentSuite, toResident, toResidentF32 } from './resident-helpers.js';

/** The addon's pool geometry [n, ih, iw, c, oh, ow, kh, kw, sh, sw, padTop, padLeft]. */
const GEO = {
  // NIN's: 3x3, stride 2, 'same' on 7x9 (odd sizes: the last windows are cut by the border).
  nin: Int32Array.from([2, 7, 9, 32, 4, 5, 3, 3, 2, 2, 0, 0]),
  // 2x2, stride 2, 'valid' on 6x4.
  valid: Int32Array.from([2, 6, 4, 32, 3, 2, 2, 2, 2, 2, 0, 0]),
};

/** bf16-rounded copies of values (what a bf16-resident tensor holds, as fp32). */
function rounded(values: Float32Array): Float32Array {
  return values.map((v) => fromBits(bf16Bits(v)));
}

/** x with ties: every fourth value repeats the one before, so windows often hold equal maxima (the gradient must go
 *  to the first in window order, as the NHWC kernel sends it), and a quarter are 0 (as after a ReLU). */
function withTies(len: number, seed: number): Float32Array {
  const x = randomArray(len, seed);
  for (let i = 1; i < len; i += 4) x[i] = x[i - 1]!;
  for (let i = 2; i < len; i += 4) x[i] = 0;
  return x;
}

describe('native backend: pooling and dropout on resident tensors', function () {
  this.timeout(60_000);
  const env = residentSuite((addon) => {
    if (!addon.dropoutGrad) throw new Error('the addon has no dropoutGrad: rebuild it (npm run build:native)');
  });

  for (const [name, geo] of Object.entries(GEO)) {
    const [n, ih, iw, c, oh, ow] = Array.from(geo) as [number, number, number, number, number, number];
    const inLen = n * ih * iw * c, outLen = n * oh * ow * c;

    for (const kind of [0, 1]) {
      const label = `${kind === 0 ? 'max' : 'avg'} pool, ${name}`;

      it(`${label}: fp32 and bf16 nChw16c operands give the NHWC kernel's values exactly`, () => {
        const x = withTies(inLen, 1), dy = randomArray(outLen, 2);
        // References on fp32 NHWC: on x, and on x rounded to bf16.
        const ref = (xv: Float32Array) => {
          const y = new Float32Array(outLen), dx = new Float32Array(inLen);
          env.addon.poolForward(kind, geo, xv, y);
          env.addon.poolBackward(kind, geo, dy, kind === 0 ? xv : null, kind === 0 ? y : null, dx);
          return { y, dx };
        };
        const r32 = ref(x), r16 = ref(rounded(x));
        // fp32 nChw16c throughout (blocked bits: forward x 1, y 2; backward dy 1, x 2, y 4, dx 8).
        const xb = toResidentF32(x, n, ih * iw, c), yb = new Float32Array(outLen), dxb = new Float32Array(inLen);
        env.addon.poolForward(kind, geo, xb, yb, 3);
        expect(Array.from(yb), 'y blocked').to.deep.equal(Array.from(toResidentF32(r32.y, n, oh * ow, c)));
        env.addon.poolBackward(kind, geo, toResidentF32(dy, n, oh * ow, c), kind === 0 ? xb : null, kind === 0 ? yb : null, dxb, 15);
        expect(Array.from(dxb), 'dx blocked').to.deep.equal(Array.from(toResidentF32(r32.dx, n, ih * iw, c)));
        // bf16 x and y (Uint16Arrays); dy fp32 NHWC, dx fp32 NHWC: the fp32 kernel on the rounded values.
        const x16 = toResident(x, n, ih * iw, c), y16 = new Uint16Array(outLen), dx = new Float32Array(inLen);
        env.addon.poolForward(kind, geo, x16, y16);
        expect(Array.from(y16), 'y bf16').to.deep.equal(Array.from(toResident(r16.y, n, oh * ow, c)));
        if (kind === 0) {
          env.addon.poolBackward(kind, geo, dy, x16, y16, dx);
          expect(Array.from(dx), 'dx from bf16 x and y').to.deep.equal(Array.from(r16.dx));
        }
        // A blocked operand needs whole 16-channel blocks.
        const g3 = geo.slice();
        g3[3] = 24;
        expect(() => env.addon.poolForward(kind, g3, new Float32Array(inLen / 32 * 24), new Float32Array(outLen / 32 * 24), 1)).to.throw(/multiple of 16/);
      });
    }
  }

  it('dropoutAlea on nChw16c draws tf.dropout\'s values in NHWC order; dropoutGrad reads any layout', () => {
    const n = 2, h = 3, w = 5, c = 32, hw = h * w, len = n * hw * c;
    const x = randomArray(len, 5), state = Float64Array.from(aleaState(17));
    const y = new Float32Array(len), m = new Float32Array(len);
    env.addon.dropoutAlea!(x, y, m, state, 0.5);
    // Hand-checkable: rate 0.5 keeps values doubled (2) or zeroes them, about half each.
    expect(new Set(m)).to.deep.equal(new Set([0, 2]));
    const yb = new Float32Array(len), mb = new Float32Array(len);
    env.addon.dropoutAlea!(toResidentF32(x, n, hw, c), yb, mb, state, 0.5, c, hw);
    expect(Array.from(mb), 'multiplier blocked').to.deep.equal(Array.from(toResidentF32(m, n, hw, c)));
    expect(Array.from(yb), 'y blocked').to.deep.equal(Array.from(toResidentF32(y, n, hw, c)));
    // bf16 x and y: y is x's bf16 value times the multiplier, rounded to bf16 (exact at rate 0.5: times 2).
    const y16 = new Uint16Array(len), m16 = new Float32Array(len);
    env.addon.dropoutAlea!(toResident(x, n, hw, c), y16, m16, state, 0.5, c, hw);
    expect(Array.from(y16), 'y bf16').to.deep.equal(Array.from(toResident(rounded(x).map((v, i) => v * m[i]!), n, hw, c)));
    expect(Array.from(m16)).to.deep.equal(Array.from(mb));
    expect(() => env.addon.dropoutAlea!(toResident(x, n, hw, c), y16, m16, state, 0.5), 'bf16 without the layout').to.throw(/channels and hw/);

    // dz = dy * multiplier in float32, whatever the layouts (bits 1 dy, 2 multiplier, 4 dz).
    const dy = randomArray(len, 6);
    const want = dy.map((v, i) => v * m[i]!);
    const cases: Array<[string, Float32Array | Uint16Array, number, Float32Array, boolean]> = [
      ['NHWC dy, blocked multiplier, NHWC dz', dy, 2, want, false],
      ['all blocked', toResidentF32(dy, n, hw, c), 7, toResidentF32(want, n, hw, c), true],
      ['bf16 dy, NHWC dz', toResident(dy, n, hw, c), 2, rounded(dy).map((v, i) => v * m[i]!), false],
    ];
    for (const [what, dyIn, bits, expected] of cases) {
      const dz = new Float32Array(len);
      env.addon.dropoutGrad!(dyIn, mb, dz, c, hw, bits);
      expect(Array.from(dz), what).to.deep.equal(Array.from(expected));
    }
  });

  it('dropoutAlea draws the same bits split into any number of chunks (jumped-ahead starts), NHWC and nChw16c', () => {
    // 2 x 15 pixels x 32 channels = 960 draws, 60 runs of 16: 7 chunks of 144, 64 chunks of 16 (the last 4 empty).
    const n = 2, hw = 15, c = 32, len = n * hw * c;
    const x = randomArray(len, 8), state = aleaState(23);
    const draw = (chunks: number, blocked: boolean) => {
      const y = new Float32Array(len), m = new Float32Array(len);
      const xin = blocked ? toResidentF32(x, n, hw, c) : x;
      if (blocked) env.addon.dropoutAlea!(xin, y, m, aleaStarts(state, len, chunks), 0.3, c, hw);
      else env.addon.dropoutAlea!(xin, y, m, aleaStarts(state, len, chunks), 0.3);
      return [Array.from(y), Array.from(m)];
    };
    for (const blocked of [false, true]) {
      const one = draw(1, blocked);
      for (const chunks of [2, 3, 7, 64]) expect(draw(chunks, blocked), `${chunks} chunks, blocked ${blocked}`).to.deep.equal(one);
    }
    // One chunk is the sequential draw: tf.dropout's values, as the test above checks against aleaState's first value.
    expect(() => env.addon.dropoutAlea!(x, new Float32Array(len), new Float32Array(len), new Float64Array(6), 0.3)).to.throw(/4 values .* per chunk/);
  });

  /** conv (32 channels, resident) -> max pool -> dropout -> conv (16 channels), summed against g. */
  function block(x: tf.Tensor, w1: tf.Tensor, b1: tf.Tensor, w2: tf.Tensor, b2: tf.Tensor, native: boolean): tf.Tensor {
    const geo = { strides: [1, 1] as [number, number], pad: 'same' as const };
    const conv = (a: tf.Tensor, w: tf.Tensor, b: tf.Tensor) => native
      ? convBiasRelu(a as tf.Tensor4D, w as tf.Tensor4D, b as tf.Tensor1D, geo)
      : tf.relu(tf.add(tf.conv2d(a as tf.Tensor4D, w as tf.Tensor4D, 1, 'same'), b));
    const pooled = tf.maxPool(conv(x, w1, b1) as tf.Tensor4D, 3, 2, 'same');
    const dropped = native ? nativeDropout(pooled, 0.5, 9) : tf.dropout(pooled, 0.5, undefined, 9);
    return conv(dropped, w2, b2);
  }
  const SHAPES = [[2, 9, 9, 16], [3, 3, 16, 32], [32], [1, 1, 32, 16], [16], [2, 5, 5, 16]];

  it('fp32: pooled and dropped outputs stay resident; a block\'s output and gradients are the cpu backend\'s (1e-5)', () => {
    tf.setBackend('native');
    const heap0 = env.backend.heapBytes(), tensors0 = tf.memory().numTensors;
    // Forward by hand: each stage's output resident in fp32, dropout's multiplier too.
    const [x, w1, b1] = SHAPES.slice(0, 3).map((sh, i) => randomTensor(sh, 70 + i));
    const y1 = convBiasRelu(x as tf.Tensor4D, w1 as tf.Tensor4D, b1 as tf.Tensor1D, { strides: [1, 1], pad: 'same' });
    const p = tf.maxPool(y1, 3, 2, 'same');
    expect(env.backend.resident(p)?.view, 'max pool of a resident input').to.be.instanceOf(Float32Array);
    const a = tf.avgPool(y1, 2, 2, 'valid');
    expect(env.backend.resident(a)?.view, 'average pool in fp32').to.be.instanceOf(Float32Array);
    const d = nativeDropout(p, 0.5, 9);
    expect(env.backend.resident(d)?.view, 'dropout of a resident input').to.be.instanceOf(Float32Array);
    const ref = outputsOn('cpu', () => {
      const [xc, wc, bc] = SHAPES.slice(0, 3).map((sh, i) => randomTensor(sh, 70 + i));
      const yc = tf.relu(tf.add(tf.conv2d(xc as tf.Tensor4D, wc as tf.Tensor4D, 1, 'same'), bc)) as tf.Tensor4D;
      const pc = tf.maxPool(yc, 3, 2, 'same');
      return [pc, tf.avgPool(yc, 2, 2, 'valid'), tf.dropout(pc, 0.5, undefined, 9)];
    });
    tf.setBackend('native');
    [p, a, d].forEach((t, i) => expect(relError(ref[i]!.values, t.dataSync()), `stage ${i}`).to.be.at.most(1e-5));
    tf.dispose([x, w1, b1, y1, p, a, d]);

    // Through the gradients: output and every gradient as the cpu backend's; nothing left behind.
    const run = (native: boolean) => () => {
      const t = SHAPES.map((sh, i) => randomTensor(sh, 80 + i));
      const f = (...v: tf.Tensor[]) => tf.sum(tf.mul(block(v[0]!, v[1]!, v[2]!, v[3]!, v[4]!, native), t[5]!));
      return [block(t[0]!, t[1]!, t[2]!, t[3]!, t[4]!, native), ...tf.grads(f)(t.slice(0, 5))];
    };
    const want = outputsOn('cpu', run(false));
    const grads0 = nativeCount('GaplabDropoutGrad'), pools0 = nativeCount('MaxPoolGrad');
    const got = outputsOn('native', run(true));
    expect(nativeCount('GaplabDropoutGrad') - grads0, 'dropout gradient on the native kernel').to.equal(1);
    expect(nativeCount('MaxPoolGrad') - pools0).to.equal(1);
    ['y', 'dx', 'dw1', 'db1', 'dw2', 'db2'].forEach((what, i) => expect(relError(want[i]!.values, got[i]!.values), what).to.be.at.most(1e-5));
    expect(tf.memory().numTensors, 'tensors left behind').to.equal(tensors0);
    expect(env.backend.heapBytes(), 'heap blocks left behind').to.equal(heap0);
  });

  it('bf16: a max pool and dropout stay bf16-resident (the multiplier fp32); a block agrees with fp32 to bf16 precision', function () {
    if (!enterBf16(env.addon)) return;
    tf.setBackend('native');
    const heap0 = env.backend.heapBytes();
    const x = tf.abs(randomTensor([2, 8, 8, 16], 90)), w = tf.abs(randomTensor([3, 3, 16, 32], 91)), b = tf.abs(randomTensor([32], 92));
    const y = convBiasRelu(x as tf.Tensor4D, w as tf.Tensor4D, b as tf.Tensor1D, { strides: [1, 1], pad: 'same' });
    const p = tf.maxPool(y, 3, 2, 'same');
    expect(env.backend.resident(p)?.view, 'bf16 max pool').to.be.instanceOf(Uint16Array);
    const a = tf.avgPool(y, 2, 2, 'valid');
    expect(env.backend.resident(a), 'a bf16 average would round: fp32 NHWC').to.equal(undefined);
    // The gradient of a max pool over a bf16-resident input: fp32 nChw16c (sums of overlapping windows unrounded).
    const dxPool = tf.grad((t: tf.Tensor) => tf.sum(tf.maxPool(t as tf.Tensor4D, 3, 2, 'same')))(y);
    expect(env.backend.resident(dxPool)?.view, 'pool gradient in bf16 mode').to.be.instanceOf(Float32Array);
    dxPool.dispose();
    const out = tf.tidy(() => {
      const d = nativeDropout(p, 0.5, 3);
      expect(env.backend.resident(d)?.view, 'bf16 dropout output').to.be.instanceOf(Uint16Array);
      return d.dataSync();
    });
    // The max copies bf16 values: p equals the max pool of y's (bf16) values read out.
    const pv = p.dataSync(), yv = y.dataSync();
    const want = outputsOn('cpu', () => tf.maxPool(tf.tensor(yv, y.shape) as tf.Tensor4D, 3, 2, 'same'));
    expect(Array.from(pv)).to.deep.equal(Array.from(want[0]!.values));
    expect(Array.from(out)).to.deep.equal(Array.from(outputsOn('cpu', () => tf.dropout(tf.tensor(pv, p.shape), 0.5, undefined, 3))[0]!.values));
    tf.dispose([x, w, b, y, p, a]);
    expect(env.backend.heapBytes()).to.equal(heap0);

    // Gradients through the bf16 block against fp32 cpu. Non-negative inputs keep ReLU masks away from 0, and x rising
    // by 1 per pixel keeps each pooling window's maximum ahead of the others by more than bf16's rounding: otherwise
    // rounding ties or reorders near-equal maxima and the window's gradient goes to another pixel (an O(1) change).
    const ramp = (sh: number[]) => tf.tidy(() => tf.add(tf.abs(randomTensor(sh, 95)).mul(0.1),
      tf.range(0, sh[1]! * sh[2]!).reshape([1, sh[1]!, sh[2]!, 1])));
    const run = (native: boolean) => () => {
      const t = SHAPES.map((sh, i) => (i === 0 ? ramp(sh) : i === 5 ? randomTensor(sh, 95 + i) : tf.abs(randomTensor(sh, 95 + i))));
      const f = (...v: tf.Tensor[]) => tf.sum(tf.mul(block(v[0]!, v[1]!, v[2]!, v[3]!, v[4]!, native), t[5]!));
      return tf.grads(f)(t.slice(0, 5));
    };
    const ref = outputsOn('cpu', run(false));
    const got = outputsOn('native', run(true));
        // A scrambled layout would be off by O(1); here each is within 0.6% (measured).
    ['dx', 'dw1', 'db1', 'dw2', 'db2'].forEach((what, i) => expect(relError(ref[i]!.values, got[i]!.values), what).to.be.below(0.02));
  });
});
