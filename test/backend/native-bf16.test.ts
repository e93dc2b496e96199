// bf16 convolutions and matmuls of the native backend against fp32: within bf16's rounding bound, fused = unfused.
import * as tf from '@tensorflow/tfjs';
import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { ADDON_PATH_ENV, addonPath, loadAddon, type NativeAddon } from '../../src/backend/native/addon.js';
import type { NativeBackend } from '../../src/backend/native/backend.js';
import { loadConvChoices, readConvChoices, saveConvChoices } from '../../src/backend/native/conv-choices.js';
import { nativeCount, nativeReady, outputsOn, randomTensor, relError } from './helpers.js';
import { needsNative } from '../requires.js';

/**
 * The error bound, per output value. bf16 keeps 8 significant bits, so rounding an fp32 operand to bf16 (to nearest)
 * moves it by at most u = 2^-8 of itself, and a product of two rounded operands is off by at most (1+u)^2 - 1 = 2u + u^2
 * of |a*b|. oneDNN sums these products in fp32, as the fp32 reference does: each of the two sums of K terms adds at
 * most K * 2^-24 of sum |a*b| (the textbook worst case). So |bf16 - fp32| <= (2u + u^2 + 2K * 2^-24) * sum |a*b|,
 * where sum |a*b| is the same computation on the operands' absolute values (plus 0.1% for that sum's own rounding).
 */
const U = 2 ** -8;
function bound(absSum: number, terms: number): number {
  return (2 * U + U * U + 2 * terms * 2 ** -24) * absSum * 1.001;
}

/**
 * Checks got (bf16) against ref (fp32) value by value within bound(); returns the largest error as a share of its
 * bound's sum |a*b|, which shows that bf16 rounding happened: fp32 arithmetic alone stays below K * 2^-24 there.
 */
function expectWithinBf16(ref: Float32Array, got: Float32Array, absSum: Float32Array, terms: number, what: string): number {
  expect(got.length, what).to.equal(ref.length);
  let worst = 0;
  for (let i = 0; i < ref.length; i++) {
    const err = Math.abs(got[i]! - ref[i]!);
    if (err > bound(absSum[i]!, terms)) expect.fail(`${what}[${i}]: bf16 ${got[i]} vs fp32 ${ref[i]}, beyond the bf16 bound ${bound(absSum[i]!, terms)}`);
    if (absSum[i]! > 0) worst = Math.max(worst, err / absSum[i]!);
  }
  return worst;
}

/** A bf16 run shows errors of this share of sum |a*b| somewhere (typically 2^-10); fp32 of these sizes stays below 2^-16. */
const BF16_SEEN = 2 ** -13;

/** oneDNN's ISA values with AVX-512 but no bf16 instructions: oneDNN emulates bf16 there (slowly), so the kernels'
 *  arithmetic can still be tested; below AVX-512 (avx2) it has no bf16 convolution at all. */
const EMULATING = ['avx512_core', 'avx512_core_vnni'];

interface ConvCase { n: number; h: number; ci: number; co: number; k: number; stride: number; pad: 'same' | 'valid' }
const CASES: ConvCase[] = [
  { n: 2, h: 9, ci: 3, co: 16, k: 5, stride: 1, pad: 'same' }, // a first layer: 3 input channels
  { n: 4, h: 8, ci: 16, co: 24, k: 1, stride: 1, pad: 'valid' }, // NIN's 1x1 convs
  { n: 3, h: 11, ci: 8, co: 16, k: 3, stride: 2, pad: 'valid' },
  { n: 2, h: 8, ci: 32, co: 32, k: 5, stride: 1, pad: 'same' },
];
const caseName = (c: ConvCase) => `${c.n}x${c.h}x${c.h}x${c.ci} -> ${c.co}, ${c.k}x${c.k}, stride ${c.stride}, ${c.pad}`;

const abs = (t: tf.Tensor) => tf.abs(t);
const CONV_KERNELS = ['Conv2D', 'Conv2DBackpropInput', 'Conv2DBackpropFilter'];

/** Forward output and both gradients of sum(conv(x, w) * g): the three convolution kernels. */
function convPasses(c: ConvCase, x: tf.Tensor, w: tf.Tensor, g: tf.Tensor): tf.Tensor[] {
  const conv = (a: tf.Tensor, f: tf.Tensor) => tf.conv2d(a as tf.Tensor4D, f as tf.Tensor4D, c.stride, c.pad);
  return [conv(x, w), ...tf.grads((a: tf.Tensor, f: tf.Tensor) => tf.sum(tf.mul(conv(a, f), g)))([x, w])];
}

function outSide(c: ConvCase): number {
  return c.pad === 'same' ? Math.ceil(c.h / c.stride) : Math.floor((c.h - c.k) / c.stride) + 1;
}

/** Input x, filter w and output gradient g of case c, seeded. */
function convTensors(c: ConvCase, seed: number): { x: tf.Tensor; w: tf.Tensor; g: tf.Tensor } {
  return {
    x: randomTensor([c.n, c.h, c.h, c.ci], seed),
    w: randomTensor([c.k, c.k, c.ci, c.co], seed + 1),
    g: randomTensor([c.n, outSide(c), outSide(c), c.co], seed + 2),
  };
}

/** The fp32 reference (cpu backend), its sums of |products| and the run on native of the three passes of case c. */
function convRuns(c: ConvCase, seed: number, native: () => void) {
  const make = () => convTensors(c, seed);
  return {
    ref: outputsOn('cpu', () => { const t = make(); return convPasses(c, t.x, t.w, t.g); }),
    absSum: outputsOn('cpu', () => { const t = make(); return convPasses(c, abs(t.x), abs(t.w), abs(t.g)); }),
    native: () => {
      native();
      return outputsOn('native', () => { const t = make(); return convPasses(c, t.x, t.w, t.g); });
    },
  };
}

/** Checks y, dx, dw within the bound (terms per value: forward k*k*ci, input gradient at most k*k*co, filter
 *  gradient n*out*out); returns each one's largest error share. */
function expectConvWithinBf16(c: ConvCase, runs: ReturnType<typeof convRuns>, got: Array<{ values: Float32Array }>): number[] {
  const terms = [c.k * c.k * c.ci, c.k * c.k * c.co, c.n * outSide(c) * outSide(c)];
  return ['y', 'dx', 'dw'].map((what, j) =>
    expectWithinBf16(runs.ref[j]!.values, got[j]!.values, runs.absSum[j]!.values, terms[j]!, what));
}

describe('native backend: bf16 precision', function () {
  this.timeout(60_000);
  let addon: NativeAddon;
  let isa = '';
  let supported = false;

  before(function () {
    needsNative(this, nativeReady());
    addon = loadAddon()!;
    isa = addon.info().isa ?? 'unknown';
    supported = addon.bf16Supported?.() ?? false;
  });
  afterEach(() => {
    addon?.setPrecision?.('fp32');
    addon?.setConvLayout('auto');
  });
  after(() => tf.setBackend('cpu'));

  /** bf16 mode as this CPU allows: natively, or oneDNN's emulation on AVX-512 without bf16; false where neither. */
  function enterBf16(): boolean {
    if (supported) {
      addon.setPrecision!('bf16');
      return true;
    }
    if (!EMULATING.includes(isa)) return false;
    addon.setPrecision!('bf16', true);
    return true;
  }

  /** Runs `check` in bf16 mode; where oneDNN cannot run bf16 at all, checks that bf16 is refused instead. */
  function inBf16(check: () => void): void {
    if (!enterBf16()) {
      expect(() => addon.setPrecision!('bf16'), `bf16 on ISA ${isa}`).to.throw(/AVX512_BF16 or AMX/);
      expect(addon.getPrecision!()).to.equal('fp32');
      return;
    }
    check();
  }

  it('refuses bf16 where oneDNN lacks bf16 instructions, naming what is needed (oneDNN capped at AVX2 and AVX-512)', () => {
    for (const cap of ['AVX2', 'AVX512_CORE']) {
      const script = `const a = require(${JSON.stringify(addonPath())});
        let msg = 'accepted';
        try { a.setPrecision('bf16'); } catch (e) { msg = e.message; }
        console.log(JSON.stringify({ isa: a.info().isa, supported: a.bf16Supported(), precision: a.getPrecision(), msg }));`;
      const res = spawnSync(process.execPath, ['-e', script], {
        encoding: 'utf8', env: { ...process.env, DNNL_MAX_CPU_ISA: cap, [ADDON_PATH_ENV]: addonPath() },
      });
      expect(res.status, res.stderr).to.equal(0);
      const out = JSON.parse(res.stdout) as { isa: string; supported: boolean; precision: string; msg: string };
      expect(out.supported, `capped at ${cap}: ${out.isa}`).to.equal(false);
      expect(out.precision).to.equal('fp32');
      expect(out.msg).to.equal("gaplab native: precision bf16 needs a CPU with AVX512_BF16 or AMX (oneDNN's avx512_core_bf16 ISA)");
    }
  });

  it('reports bf16 support as the effective ISA says (AVX512_BF16 and AMX have it)', () => {
    expect(supported, `isa ${isa}`).to.equal(['avx512_core_bf16', 'avx512_core_amx'].includes(isa));
  });

  for (const [i, c] of CASES.entries()) {
    for (const layout of ['plain', 'blocked', 'split'] as const) {
      it(`convolution forward and both gradients in bf16 (${layout}), within bf16's bound of fp32: ${caseName(c)}`, () => {
        const runs = convRuns(c, 100 + 10 * i, () => addon.setConvLayout(layout));
        inBf16(() => {
          const before = CONV_KERNELS.map(nativeCount);
          const got = runs.native();
          CONV_KERNELS.forEach((k, j) => expect(nativeCount(k), k).to.be.greaterThan(before[j]!));
          for (const [j, seen] of expectConvWithinBf16(c, runs, got).entries()) {
            expect(seen, `${['y', 'dx', 'dw'][j]}: bf16 rounding visible`).to.be.above(BF16_SEEN);
          }
        });
      });
    }
  }

  it('auto layout in bf16: choices under bf16 keys, saved and reloaded to the same bits, results within the bound', () => {
    const c = CASES[3]!;
    // Without bf16-resident outputs (32 channels would be): resident passes run one fixed plan and record no choice.
    const backend = tf.findBackend('native') as NativeBackend;
    backend.residentEnabled = false;
    const runs = convRuns(c, 300, () => addon.setConvChoices([]));
    try {
      inBf16(() => {
        const got = runs.native();
        expectConvWithinBf16(c, runs, got);
        const choices = addon.convChoices();
        expect(choices).to.have.length(3);
        for (const [key, layout] of choices) {
          expect(key).to.match(/:bf16$/);
          expect(['plain', 'blocked', 'split', 'plain-bf16', 'blocked-bf16', 'split-bf16']).to.include(layout);
        }
        // As a later process would: the choice file gives the addon these layouts back, and the same bits come out.
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gaplab-bf16-choices-'));
        try {
          const file = path.join(dir, 'choices.json');
          saveConvChoices(addon, file);
          expect(readConvChoices(file)).to.deep.equal([...choices].sort());
          addon.setConvChoices([]);
          expect(loadConvChoices(addon, file)).to.equal(3);
          const again = outputsOn('native', () => { const t = convTensors(c, 300); return convPasses(c, t.x, t.w, t.g); });
          again.forEach((o, j) => expect(Array.from(o.values), `output ${j}`).to.deep.equal(Array.from(got[j]!.values)));
        } finally {
          fs.rmSync(dir, { recursive: true, force: true });
        }
        // Back in fp32, the same shapes are new keys: timed afresh, and the results are fp32's again.
        addon.setPrecision!('fp32');
        runs.native().forEach((o, j) => expect(relError(runs.ref[j]!.values, o.values), `fp32 output ${j}`).to.be.at.most(1e-5));
        expect(addon.convChoices().filter(([k]) => !k.endsWith(':bf16'))).to.have.length(3);
      });
    } finally {
      backend.residentEnabled = true;
    }
  });

  it('choice files keep the bf16 layouts (and still drop unknown ones)', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gaplab-bf16-choices-'));
    try {
      const file = path.join(dir, 'choices.json');
      const layouts = ['plain', 'blocked', 'split', 'plain-bf16', 'blocked-bf16', 'split-bf16'];
      const choices = layouts.map((l, i) => [`k${i}:bf16`, l]);
      fs.writeFileSync(file, JSON.stringify({ format: 1, choices: [...choices, ['k9:bf16', 'fastest-bf16']] }));
      expect(readConvChoices(file)).to.deep.equal(choices);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  for (const layout of ['plain', 'blocked', 'split'] as const) {
    it(`fused bias + ReLU (FusedConv2D) equals conv, add, relu in bf16 (${layout})`, () => {
      const x = () => randomTensor([4, 9, 9, 16], 401), w = () => randomTensor([3, 3, 16, 24], 402), b = () => randomTensor([24], 403);
      inBf16(() => {
        addon.setConvLayout(layout);
        const fusedBefore = nativeCount('FusedConv2D');
        const [fused] = outputsOn('native', () => tf.fused.conv2d({ x: x() as tf.Tensor4D, filter: w() as tf.Tensor4D, bias: b(), strides: 1, pad: 'same', activation: 'relu' }));
        expect(nativeCount('FusedConv2D')).to.be.greaterThan(fusedBefore);
        const [unfused] = outputsOn('native', () => tf.relu(tf.add(tf.conv2d(x() as tf.Tensor4D, w() as tf.Tensor4D, 1, 'same'), b())));
        // The same bf16 products summed in fp32; only where the bias is added can the last bit differ.
        expect(relError(unfused!.values, fused!.values)).to.be.at.most(1e-6);
      });
    });
  }

  /** y = x W and both gradients of sum(y * g). */
  function densePasses(x: tf.Tensor, w: tf.Tensor, g: tf.Tensor): tf.Tensor[] {
    const f = (a: tf.Tensor, b: tf.Tensor) => tf.matMul(a as tf.Tensor2D, b as tf.Tensor2D);
    return [f(x, w), ...tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(f(a, b), g)))([x, w])];
  }

  it('matmul forward and both gradients in bf16 where the product is large (256 x 256 x 256), within the bound', () => {
    const make = () => ({ x: randomTensor([256, 256], 501), w: randomTensor([256, 256], 502), g: randomTensor([256, 256], 503) });
    const ref = outputsOn('cpu', () => { const t = make(); return densePasses(t.x, t.w, t.g); });
    const absSum = outputsOn('cpu', () => { const t = make(); return densePasses(abs(t.x), abs(t.w), abs(t.g)); });
    inBf16(() => {
      const before = nativeCount('BatchMatMul');
      const got = outputsOn('native', () => { const t = make(); return densePasses(t.x, t.w, t.g); });
      expect(nativeCount('BatchMatMul') - before).to.be.at.least(3);
      ['y', 'dx', 'dw'].forEach((what, j) => {
        const seen = expectWithinBf16(ref[j]!.values, got[j]!.values, absSum[j]!.values, 256, what);
        expect(seen, `${what}: bf16 rounding visible`).to.be.above(BF16_SEEN);
      });
    });
  });

  it('matmul stays fp32 in bf16 mode where bf16 does not pay (a 64 x 12288 by 12288 x 10 dense layer): same bits', () => {
    const x = () => randomTensor([64, 12288], 601), w = () => randomTensor([12288, 10], 602);
    const [fp32] = outputsOn('native', () => tf.matMul(x() as tf.Tensor2D, w() as tf.Tensor2D));
    inBf16(() => {
      const [bf16] = outputsOn('native', () => tf.matMul(x() as tf.Tensor2D, w() as tf.Tensor2D));
      expect(Array.from(bf16!.values)).to.deep.equal(Array.from(fp32!.values));
    });
  });

  it('fused dense layer (bias + ReLU, _FusedMatMul) equals matmul, add, relu in bf16', () => {
    const x = () => randomTensor([256, 256], 701), w = () => randomTensor([256, 256], 702), b = () => randomTensor([256], 703);
    inBf16(() => {
      const before = nativeCount('_FusedMatMul');
      const [fused] = outputsOn('native', () => tf.fused.matMul({ a: x() as tf.Tensor2D, b: w() as tf.Tensor2D, bias: b(), activation: 'relu' }));
      expect(nativeCount('_FusedMatMul')).to.be.greaterThan(before);
      const [unfused] = outputsOn('native', () => tf.relu(tf.add(tf.matMul(x() as tf.Tensor2D, w() as tf.Tensor2D), b())));
      expect(relError(unfused!.values, fused!.values)).to.be.at.most(1e-6);
    });
  });
});
