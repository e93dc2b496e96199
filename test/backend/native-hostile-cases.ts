// Hostile inputs for every native kernel (empty batches, 1x1 images, odd sizes, 4096 channels, views, windows larger
// than the input, strides larger than the window), grouped so that a child process runs one group at a time.
import * as tf from '@tensorflow/tfjs';

import { nativeDropout } from '../../src/backend/native/dropout.js';
import { convBiasRelu } from '../../src/backend/native/fused-conv.js';
import { NATIVE_BACKEND_NAME } from '../../src/backend/native/register.js';
import { variableGradsFreeing } from '../../src/train/grads.js';
import { Sgd } from '../../src/train/optimizer.js';
import { randomTensor } from './helpers.js';

export interface HostileCase {
  name: string;
  /** Runs on whichever backend is active; must be deterministic (seeded inputs). */
  run: () => tf.Tensor | tf.Tensor[];
}

type T4 = tf.Tensor4D;
type Pad = 'same' | 'valid';

/** A tensor whose values sit at an offset inside a larger buffer: the cpu Slice kernel returns a subarray view. */
function sliceView(shape: number[], seed: number): tf.Tensor {
  const big = randomTensor([shape[0]! + 2, ...shape.slice(1)], seed);
  return tf.slice(big, [1, ...shape.slice(1).map(() => 0)], shape);
}

/** Same values in another memory order: built channels-first, then transposed to NHWC. */
function transposed(shape: number[], seed: number): tf.Tensor {
  const [n, h, w, c] = shape as [number, number, number, number];
  return tf.transpose(randomTensor([n, c, h, w], seed), [0, 2, 3, 1]);
}

/** Output and the gradient of sum(f(inputs) * g) with respect to every input (g: seeded, the output's shape). */
function withGrads(f: (...t: tf.Tensor[]) => tf.Tensor, inputs: () => tf.Tensor[], seed: number): () => tf.Tensor[] {
  return () => {
    const xs = inputs();
    const y = f(...xs);
    const g = randomTensor(y.shape, seed);
    return [y, ...tf.grads((...a: tf.Tensor[]) => tf.sum(tf.mul(f(...a), g)))(xs)];
  };
}

interface ConvGeo {
  x: number[];
  k: [number, number];
  co: number;
  stride: number;
  pad: Pad | number | [[0, 0], [number, number], [number, number], [0, 0]];
  dilation?: number;
}

function convCases(): HostileCase[] {
  const geos: Array<[string, ConvGeo]> = [
    ['zero batch', { x: [0, 5, 5, 3], k: [3, 3], co: 4, stride: 1, pad: 'same' }],
    ['1x1 image, 3x3 same', { x: [2, 1, 1, 3], k: [3, 3], co: 4, stride: 1, pad: 'same' }],
    ['1x1 image, 1x1 valid', { x: [3, 1, 1, 2], k: [1, 1], co: 5, stride: 1, pad: 'valid' }],
    ['7x5, 3x3 stride 2 same', { x: [2, 7, 5, 3], k: [3, 3], co: 4, stride: 2, pad: 'same' }],
    ['7x5, 3x3 stride 2 valid', { x: [2, 7, 5, 3], k: [3, 3], co: 4, stride: 2, pad: 'valid' }],
    ['7x5, 2x4 kernel', { x: [1, 7, 5, 2], k: [2, 4], co: 3, stride: 1, pad: 'same' }],
    ['4096 input channels at 1x1', { x: [2, 1, 1, 4096], k: [1, 1], co: 8, stride: 1, pad: 'valid' }],
    ['4096 output channels at 1x1', { x: [2, 1, 1, 16], k: [1, 1], co: 4096, stride: 1, pad: 'same' }],
    ['4096 channels, 3x3 on 2x2', { x: [1, 2, 2, 4096], k: [3, 3], co: 4, stride: 1, pad: 'same' }],
    ['kernel larger than input, valid', { x: [1, 3, 3, 2], k: [5, 5], co: 4, stride: 1, pad: 'valid' }],
    ['kernel larger than input, same', { x: [1, 3, 2, 2], k: [5, 5], co: 4, stride: 1, pad: 'same' }],
    ['stride 3 > 1x1 kernel, valid', { x: [1, 7, 5, 2], k: [1, 1], co: 3, stride: 3, pad: 'valid' }],
    ['stride 3 > 2x2 kernel, same', { x: [2, 7, 5, 2], k: [2, 2], co: 3, stride: 3, pad: 'same' }],
    ['stride larger than the image', { x: [1, 3, 3, 2], k: [2, 2], co: 3, stride: 5, pad: 'same' }],
    ['4096 to 512 channels, 1x1', { x: [1, 1, 1, 4096], k: [1, 1], co: 512, stride: 1, pad: 'valid' }],
    ['numeric padding 2', { x: [1, 4, 3, 2], k: [3, 3], co: 2, stride: 2, pad: 2 }],
    ['padding 4 > 3x3 kernel on 2x2', { x: [1, 2, 2, 3], k: [3, 3], co: 2, stride: 1, pad: 4 }],
    ['explicit asymmetric padding', { x: [1, 5, 4, 2], k: [3, 2], co: 3, stride: 1, pad: [[0, 0], [2, 0], [0, 3], [0, 0]] }],
    ['dilation 3 on 7x7, same', { x: [1, 7, 7, 2], k: [3, 3], co: 2, stride: 1, pad: 'same', dilation: 3 }],
    ['dilated kernel larger than input, valid', { x: [1, 4, 4, 2], k: [3, 3], co: 2, stride: 1, pad: 'valid', dilation: 2 }],
  ];
  const out: HostileCase[] = [];
  geos.forEach(([label, g], i) => {
    const conv = (a: tf.Tensor, f: tf.Tensor) =>
      tf.conv2d(a as T4, f as T4, g.stride, g.pad as Pad, 'NHWC', g.dilation ?? 1);
    const x = () => randomTensor(g.x, 100 + i);
    const w = () => randomTensor([g.k[0], g.k[1], g.x[3]!, g.co], 200 + i);
    out.push({ name: `Conv2D forward: ${label}`, run: () => conv(x(), w()) });
    out.push({
      name: `FusedConv2D bias + relu: ${label}`,
      run: () => tf.fused.conv2d({
        x: x() as T4, filter: w() as T4, strides: g.stride, pad: g.pad as Pad, dilations: g.dilation ?? 1,
        bias: randomTensor([g.co], 300 + i), activation: 'relu',
      }),
    });
    // tfjs has no gradient for dilated convolutions.
    if (!g.dilation) out.push({ name: `Conv2D gradients: ${label}`, run: withGrads(conv, () => [x(), w()], 400 + i) });
    // The conv layers' fused op (native only; cpu computes conv, add, relu): tfjs's backward pass, and ours, which
    // donates dy so the ReLU gradient is written in place.
    if (!g.dilation && typeof g.pad === 'string') {
      const geo = { strides: [g.stride, g.stride] as [number, number], pad: g.pad };
      const layer = (a: tf.Tensor, f: tf.Tensor, b: tf.Tensor) => tf.getBackend() === NATIVE_BACKEND_NAME
        ? convBiasRelu(a as T4, f as T4, b as tf.Tensor1D, geo) : tf.relu(tf.add(conv(a, f), b));
      const inputs = () => [x(), w(), randomTensor([g.co], 300 + i)];
      out.push({ name: `conv + bias + relu layer op and gradients: ${label}`, run: withGrads(layer, inputs, 450 + i) });
      out.push({ name: `conv + bias + relu layer op, gradients freed on the way: ${label}`, run: () => {
        const vars = inputs().map((t) => tf.variable(t));
        const g0 = randomTensor(tf.tidy(() => layer(vars[0]!, vars[1]!, vars[2]!).shape), 460 + i);
        const { value, grads } = variableGradsFreeing(() => tf.sum(tf.mul(layer(vars[0]!, vars[1]!, vars[2]!), g0)) as tf.Scalar, vars);
        const out = [value, ...vars.map((v) => grads[v.name] ?? tf.zerosLike(v))];
        vars.forEach((v) => v.dispose());
        return out;
      } });
    }
  });
  out.push(
    { name: 'Conv2D on a sliced (offset view) input and filter', run: withGrads(
      (a, f) => tf.conv2d(a as T4, f as T4, 1, 'same'), () => [sliceView([2, 5, 4, 3], 500), sliceView([3, 3, 3, 2], 501)], 502) },
    { name: 'Conv2D on a transposed input', run: withGrads(
      (a, f) => tf.conv2d(a as T4, f as T4, 2, 'same'), () => [transposed([2, 7, 5, 3], 503), randomTensor([3, 3, 3, 4], 504)], 505) },
    { name: 'Conv2D on a channel slice (last axis)', run: () =>
      tf.conv2d(tf.slice(randomTensor([2, 5, 5, 6], 506), [0, 0, 0, 1], [2, 5, 5, 3]) as T4, randomTensor([3, 3, 3, 2], 507) as T4, 1, 'valid') },
    { name: 'Conv2D on a reshaped view', run: () =>
      tf.conv2d(tf.reshape(randomTensor([2, 60], 508), [2, 5, 4, 3]) as T4, randomTensor([2, 2, 3, 2], 509) as T4, 1, 'same') },
  );
  return out;
}

interface PoolGeo {
  x: number[];
  k: number | [number, number];
  stride: number;
  pad: Pad | number;
  rounding?: 'floor' | 'round' | 'ceil';
}

function poolCases(): HostileCase[] {
  const geos: Array<[string, PoolGeo]> = [
    ['zero batch', { x: [0, 4, 4, 3], k: 2, stride: 2, pad: 'same' }],
    ['1x1 image, 2x2 same', { x: [2, 1, 1, 3], k: 2, stride: 2, pad: 'same' }],
    ['1x1 image, 3x3 stride 1 same', { x: [1, 1, 1, 5], k: 3, stride: 1, pad: 'same' }],
    ['1x1 image, 1x1 valid', { x: [2, 1, 1, 3], k: 1, stride: 1, pad: 'valid' }],
    ['7x5, 3x3 stride 2 same', { x: [2, 7, 5, 3], k: 3, stride: 2, pad: 'same' }],
    ['7x5, 3x3 stride 2 valid', { x: [2, 7, 5, 3], k: 3, stride: 2, pad: 'valid' }],
    ['7x5, 3x1 window', { x: [1, 7, 5, 2], k: [3, 1], stride: 1, pad: 'same' }],
    ['4096 channels at 1x1', { x: [2, 1, 1, 4096], k: 1, stride: 1, pad: 'valid' }],
    ['4096 channels at 3x3, 2x2 same', { x: [1, 3, 3, 4096], k: 2, stride: 2, pad: 'same' }],
    ['window larger than input, valid', { x: [1, 3, 3, 2], k: 5, stride: 1, pad: 'valid' }],
    ['window larger than input, same', { x: [1, 3, 2, 2], k: 5, stride: 1, pad: 'same' }],
    ['stride 3 > 2x2 window, valid', { x: [1, 7, 5, 2], k: 2, stride: 3, pad: 'valid' }],
    ['stride 3 > 2x2 window, same', { x: [2, 7, 5, 2], k: 2, stride: 3, pad: 'same' }],
    ['stride larger than the image', { x: [1, 3, 3, 2], k: 2, stride: 5, pad: 'same' }],
    ['numeric padding 1, ceil', { x: [1, 6, 5, 2], k: 3, stride: 2, pad: 1, rounding: 'ceil' }],
    ['numeric padding as large as the window', { x: [1, 4, 4, 2], k: 2, stride: 1, pad: 2, rounding: 'floor' }],
  ];
  const out: HostileCase[] = [];
  geos.forEach(([label, g], i) => {
    for (const kind of ['max', 'avg'] as const) {
      const pool = (a: tf.Tensor) => (kind === 'max' ? tf.maxPool : tf.avgPool)(a as T4, g.k, g.stride, g.pad, g.rounding);
      out.push({ name: `${kind} pool and gradient: ${label}`, run: withGrads(pool, () => [randomTensor(g.x, 600 + i)], 700 + i) });
    }
  });
  for (const kind of ['max', 'avg'] as const) {
    const pool = (a: tf.Tensor) => (kind === 'max' ? tf.maxPool : tf.avgPool)(a as T4, 3, 2, 'same');
    out.push(
      { name: `${kind} pool on a sliced (offset view) input`, run: withGrads(pool, () => [sliceView([2, 7, 5, 3], 800)], 801) },
      { name: `${kind} pool on a transposed input`, run: withGrads(pool, () => [transposed([2, 5, 7, 3], 802)], 803) },
    );
  }
  return out;
}

function matmulCases(): HostileCase[] {
  const mm = (ta = false, tb = false) => (a: tf.Tensor, b: tf.Tensor) => tf.matMul(a, b, ta, tb);
  const shapes: Array<[string, number[], number[], boolean, boolean]> = [
    ['zero rows', [0, 5], [5, 3], false, false],
    ['zero columns', [4, 5], [5, 0], false, false],
    ['zero inner size', [2, 0], [0, 3], false, false],
    ['1x1 by 1x1', [1, 1], [1, 1], false, false],
    ['inner size 4096', [2, 4096], [4096, 3], false, false],
    ['4096 outputs, transposed b', [3, 7], [4096, 7], false, true],
    ['transposed a, odd sizes', [7, 5], [7, 3], true, false],
    ['batch broadcast 1 x 5', [1, 3, 4], [5, 4, 2], false, false],
    ['zero batch', [0, 3, 4], [0, 4, 2], false, false],
    ['rank 4 batches', [2, 3, 4, 5], [2, 3, 5, 2], false, false],
  ];
  const out: HostileCase[] = shapes.map(([label, a, b, ta, tb], i) => ({
    name: `MatMul and gradients: ${label}`,
    run: withGrads(mm(ta, tb), () => [randomTensor(a, 900 + i), randomTensor(b, 950 + i)], 990 + i),
  }));
  for (const activation of ['relu', 'relu6', 'elu', 'sigmoid', 'leakyrelu'] as const) {
    out.push({ name: `fused MatMul, bias + ${activation}`, run: () => tf.fused.matMul({
      a: randomTensor([3, 5], 1000) as tf.Tensor2D, b: randomTensor([5, 4], 1001) as tf.Tensor2D, bias: randomTensor([4], 1002), activation,
    }) });
  }
  out.push(
    { name: 'fused MatMul, full-size [m, n] bias', run: () => tf.fused.matMul({
      a: randomTensor([3, 5], 1003) as tf.Tensor2D, b: randomTensor([5, 4], 1004) as tf.Tensor2D, bias: randomTensor([3, 4], 1005),
    }) },
    { name: 'fused MatMul, zero rows, with bias', run: () => tf.fused.matMul({
      a: randomTensor([0, 5], 1006) as tf.Tensor2D, b: randomTensor([5, 4], 1007) as tf.Tensor2D, bias: randomTensor([4], 1008), activation: 'relu',
    }) },
    { name: 'fused MatMul gradients, 4096 inputs', run: withGrads(
      (a, b, c) => tf.fused.matMul({ a: a as tf.Tensor2D, b: b as tf.Tensor2D, bias: c, activation: 'relu' }),
      () => [randomTensor([2, 4096], 1009), randomTensor([4096, 3], 1010), randomTensor([3], 1011)], 1012) },
    { name: 'MatMul of sliced (offset view) operands', run: withGrads(mm(), () => [sliceView([3, 5], 1013), sliceView([5, 2], 1014)], 1015) },
    { name: 'MatMul of transposed operands', run: withGrads(mm(),
      () => [tf.transpose(randomTensor([5, 3], 1016)), tf.transpose(randomTensor([2, 5], 1017))], 1018) },
  );
  return out;
}

const UNARY: Array<[string, (t: tf.Tensor) => tf.Tensor]> = [
  ['relu', tf.relu], ['relu6', tf.relu6], ['step', (t) => tf.step(t, 0.5)], ['floor', tf.floor], ['neg', tf.neg],
  ['square', tf.square], ['sqrt', (t) => tf.sqrt(tf.abs(t))], ['rsqrt', (t) => tf.rsqrt(tf.add(tf.abs(t), 0.5))], ['exp', tf.exp],
  ['log', (t) => tf.log(tf.add(tf.abs(t), 0.1))], ['sigmoid', tf.sigmoid], ['tanh', tf.tanh], ['abs', tf.abs], ['elu', tf.elu],
  ['leakyRelu', (t) => tf.leakyRelu(t, 0.3)],
];

const BINARY: Array<[string, (a: tf.Tensor, b: tf.Tensor) => tf.Tensor]> = [
  ['add', tf.add], ['sub', tf.sub], ['mul', tf.mul], ['div', (a, b) => tf.div(a, tf.add(tf.abs(b), 0.5))], ['maximum', tf.maximum],
  ['minimum', tf.minimum], ['squaredDifference', tf.squaredDifference],
];

function elementwiseCases(): HostileCase[] {
  const out: HostileCase[] = [];
  const inputs: Array<[string, () => tf.Tensor]> = [
    ['empty [0, 3]', () => randomTensor([0, 3], 1100)], ['scalar', () => tf.scalar(-0.7)],
    ['4096 channels at 1x1', () => randomTensor([2, 1, 1, 4096], 1101)], ['sliced view', () => sliceView([3, 7, 5], 1102)],
    ['transposed', () => transposed([2, 5, 7, 3], 1103)],
  ];
  for (const [label, x] of inputs) {
    out.push({ name: `unary ops: ${label}`, run: () => UNARY.map(([, f]) => f(x())) });
    // Relu's and Square's gradients run the custom one-pass kernels.
    out.push({ name: `Relu and Square gradients: ${label}`, run: () =>
      tf.grads((a: tf.Tensor) => tf.sum(tf.mul(tf.add(tf.relu(a), tf.square(a)), tf.sin(a))))([x()]) });
  }
  const pairs: Array<[string, number[], number[]]> = [
    ['empty with a channel vector', [0, 3], [3]],
    ['empty broadcast against a column', [2, 0], [2, 1]],
    ['zero-size against a scalar', [4, 0, 2], []],
    ['scalar with scalar', [], []],
    ['4096 channels with a bias', [2, 1, 1, 4096], [4096]],
    ['1x1 images with per-image values', [3, 1, 1, 2], [3, 1, 1, 1]],
    ['rank 6 with trailing 1s', [2, 1, 3, 1, 4, 1], [1, 1, 3, 1, 1, 1]],
    ['four broadcast segments', [3, 1, 5, 1], [1, 4, 1, 2]],
    ['odd same shapes', [7, 5], [7, 5]],
  ];
  pairs.forEach(([label, a, b], i) => {
    out.push({ name: `binary ops: ${label}`, run: () => BINARY.map(([, f]) => f(randomTensor(a, 1200 + i), randomTensor(b, 1250 + i))) });
  });
  out.push(
    { name: 'binary ops: sliced view operands', run: () => BINARY.map(([, f]) => f(sliceView([3, 4, 5], 1290), sliceView([1, 4, 5], 1291))) },
    { name: 'binary ops: transposed operand with a bias', run: () => BINARY.map(([, f]) => f(transposed([2, 3, 5, 4], 1292), randomTensor([4], 1293))) },
    { name: 'Fill: zero size, 4096, scalar shape', run: () => [tf.fill([0, 3], 2.5), tf.fill([2, 1, 1, 4096], -1), tf.fill([], 3), tf.ones([7, 5])] },
  );
  // Mean's gradient runs the custom broadcast-divide kernel.
  const means: Array<[string, number[], number[]]> = [
    ['all-1 dims', [1, 1, 1, 1], [1, 2]], ['1x1 images', [3, 1, 1, 5], [1, 2]], ['4096 channels', [2, 2, 2, 4096], [1, 2]],
    ['empty batch', [0, 2, 2, 3], [1, 2]], ['odd sizes, every axis', [7, 5, 3], [0, 1, 2]],
  ];
  means.forEach(([label, shape, axes], i) => {
    out.push({ name: `Mean gradient: ${label}`, run: () => tf.grad((a: tf.Tensor) => tf.sum(tf.mul(tf.mean(a, axes), 1.5)))(randomTensor(shape, 1300 + i)) });
  });
  return out;
}

function reduceCases(): HostileCase[] {
  const out: HostileCase[] = [];
  const cases: Array<[string, () => tf.Tensor, number[] | undefined, boolean]> = [
    ['all-1 dims', () => randomTensor([1, 1, 1, 1], 1400), [0, 1, 2], false],
    ['4096 channels over N,H,W', () => randomTensor([3, 2, 2, 4096], 1401), [0, 1, 2], false],
    ['4096 channels over channels', () => randomTensor([3, 1, 1, 4096], 1402), [3], true],
    ['odd sizes, middle axes', () => randomTensor([7, 5, 3, 2], 1403), [1, 2], true],
    ['negative axis', () => randomTensor([4, 5], 1404), [-1], false],
    ['no axes', () => randomTensor([4, 5], 1405), [], false],
    ['every axis', () => randomTensor([3, 5, 7], 1406), undefined, false],
    ['sliced view', () => sliceView([3, 4, 5], 1407), [0, 1], false],
    ['transposed', () => transposed([2, 3, 5, 4], 1408), [1, 2], false],
    ['a zero-size axis kept', () => randomTensor([3, 0, 2], 1409), [2], false],
  ];
  for (const [label, x, axes, keep] of cases) {
    out.push({ name: `Sum, Mean, Max, Min: ${label}`, run: () => [tf.sum(x(), axes, keep), tf.mean(x(), axes, keep), tf.max(x(), axes, keep), tf.min(x(), axes, keep)] });
  }
  // Reducing over an empty axis: sums are 0, means NaN, max/min +-Infinity on the cpu backend.
  out.push({ name: 'Sum, Mean, Max, Min over an empty axis', run: () => {
    const x = randomTensor([3, 0, 2], 1410);
    return [tf.sum(x, 1), tf.mean(x, 1), tf.max(x, 1), tf.min(x, 1)];
  } });
  return out;
}

function batchNormCases(): HostileCase[] {
  const out: HostileCase[] = [];
  const shapes: Array<[string, number[]]> = [
    ['empty batch', [0, 3, 3, 4]], ['1x1 images', [3, 1, 1, 5]], ['4096 channels at 1x1', [2, 1, 1, 4096]],
    ['odd sizes', [2, 7, 5, 3]], ['a single value per channel', [1, 1, 1, 6]], ['rank 2', [5, 3]],
  ];
  shapes.forEach(([label, shape], i) => {
    const c = shape[shape.length - 1]!;
    const params = () => [randomTensor([c], 1500 + i), tf.add(tf.abs(randomTensor([c], 1510 + i)), 0.1), randomTensor([c], 1520 + i), randomTensor([c], 1530 + i)];
    out.push({ name: `FusedBatchNorm forward: ${label}`, run: () => {
      const [mean, variance, offset, scale] = params();
      return tf.batchNorm(randomTensor(shape, 1540 + i), mean!, variance!, offset, scale, 0.001);
    } });
    // Training mode: statistics of the batch, gradients through the one-pass native kernel.
    out.push({ name: `batch norm gradients (training mode): ${label}`, run: withGrads((x, gamma, beta) => {
      const { mean, variance } = tf.moments(x, shape.map((_, j) => j).slice(0, -1));
      return tf.batchNorm(x, mean, variance, beta, gamma, 0.001);
    }, () => [randomTensor(shape, 1550 + i), randomTensor([c], 1560 + i), randomTensor([c], 1570 + i)], 1580 + i) });
  });
  out.push(
    { name: 'FusedBatchNorm forward: scalar mean and variance', run: () =>
      tf.batchNorm(randomTensor([2, 3, 3, 4], 1590), tf.scalar(0.2), tf.scalar(1.5), undefined, undefined, 1e-5) },
    { name: 'FusedBatchNorm forward: sliced view input', run: () =>
      tf.batchNorm(sliceView([2, 3, 3, 4], 1591), randomTensor([4], 1592), tf.add(tf.abs(randomTensor([4], 1593)), 0.1)) },
    { name: 'FusedBatchNorm forward: statistics of rank 4', run: () =>
      tf.batchNorm(randomTensor([2, 3, 3, 4], 1594), randomTensor([1, 1, 1, 4], 1595), tf.add(tf.abs(randomTensor([1, 1, 1, 4], 1596)), 0.1)) },
  );
  return out;
}

/** Dropout's training pass (native: nativeDropout, one addon call; cpu: tf.dropout with the same seed): empty, one
 *  value, odd sizes, a sliced view, extreme rates and seeds. */
function dropoutCases(): HostileCase[] {
  const drop = (rate: number, seed: number) => (x: tf.Tensor) =>
    tf.getBackend() === NATIVE_BACKEND_NAME ? nativeDropout(x, rate, seed) : tf.dropout(x, rate, undefined, seed);
  const cases: Array<[string, () => tf.Tensor, number, number]> = [
    ['empty tensor', () => randomTensor([0, 4], 1600), 0.5, 1],
    ['one value', () => randomTensor([1], 1601), 0.5, 2],
    ['odd size, rate 0.01', () => randomTensor([3, 7, 11], 1602), 0.01, 3],
    ['odd size, rate 0.99', () => randomTensor([5, 13], 1603), 0.99, 4],
    ['seed 0 and a sliced view', () => sliceView([2, 3, 3, 5], 1604), 0.5, 0],
    ['seed 2^31 - 1, 262,147 values', () => randomTensor([262147], 1605), 0.3, 2 ** 31 - 1],
  ];
  return cases.map(([name, x, rate, seed], i) => ({ name: `Dropout: ${name}`, run: withGrads(drop(rate, seed), () => [x()], 1610 + i) }));
}

/** One SGD-momentum step (native: the fused kernel; cpu: tfjs's ops) on empty, one-value, odd-sized and sliced
 *  variables, decayed or not, Nesterov or not; returns the new value and momentum buffer. */
function sgdCases(): HostileCase[] {
  const step = (shape: number[], seed: number, nesterov: boolean, decayed: boolean, sliced = false) => () => {
    const opt = new Sgd(0.02, 0.9, nesterov, 5e-4);
    const init = sliced ? sliceView(shape, seed) : randomTensor(shape, seed);
    const w = tf.variable(init, true, `w${seed}_${Math.random()}`);
    const g = () => randomTensor(shape, seed + 1);
    opt.apply([w], { [w.name]: g() }, new Set(decayed ? [w.name] : []));
    opt.apply([w], { [w.name]: g() }, new Set(decayed ? [w.name] : []));
    const out = [w.clone(), opt.state().slots[w.name]!.momentum!.clone()];
    opt.dispose();
    w.dispose();
    return out;
  };
  return [
    { name: 'SGD momentum: empty variable', run: step([0, 3], 1700, false, true) },
    { name: 'SGD momentum: one value, Nesterov', run: step([1], 1702, true, true) },
    { name: 'SGD momentum: 65,537 values, not decayed', run: step([65537], 1704, false, false) },
    { name: 'SGD momentum: a sliced variable, Nesterov, decayed', run: step([2, 5, 3], 1706, true, true, true) },
    { name: 'SGD momentum: a [3, 3, 7, 11] kernel, decayed', run: step([3, 3, 7, 11], 1708, false, true) },
    { name: 'SGD momentum: 4,096 values, Nesterov, not decayed', run: step([4096], 1710, true, false) },
  ];
}

/** The groups, each run in its own child process by native-hostile-child.ts. */
export const HOSTILE_GROUPS: Record<string, () => HostileCase[]> = {
  conv: convCases, pool: poolCases, matmul: matmulCases, elementwise: elementwiseCases, reduce: reduceCases, batchnorm: batchNormCases,
  dropout: dropoutCases, sgd: sgdCases,
};
