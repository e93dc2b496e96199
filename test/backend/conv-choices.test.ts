// Convolution choice files: path per machine and threads, tolerant reading, merging saves, and pinned layouts in the addon.
import { expect } from 'chai';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { loadAddon, type NativeAddon } from '../../src/backend/native/addon.js';
import {
  CONV_CHOICES_ENV, convChoicesPath, loadConvChoices, MAX_CHOICES, readConvChoices, saveConvChoices,
} from '../../src/backend/native/conv-choices.js';
import { registerNativeBackend, WINOGRAD_ENV } from '../../src/backend/native/register.js';
import { UserError } from '../../src/errors.js';
import { outputsOn, relError } from './helpers.js';
import { needsNative } from '../requires.js';

/** Just enough of the addon for the file functions. */
function fakeAddon(threads: number, choices: Array<[string, 'plain' | 'blocked' | 'split']> = []): NativeAddon {
  let held: Array<[string, string]> = choices;
  return {
    info: () => ({ onednn: '9.9.9', threads, openmp: true }),
    convChoices: () => held,
    setConvChoices: (c: Array<[string, string]>) => (held = c),
  } as unknown as NativeAddon;
}

describe('backend/native conv choices', () => {
  let dir: string;
  beforeEach(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gaplab-choices-'))));
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('names one file per thread count under the chosen folder, and none when turned off', () => {
    const env = { [CONV_CHOICES_ENV]: dir };
    const a = convChoicesPath(fakeAddon(2), env)!;
    expect(path.dirname(a)).to.equal(dir);
    expect(path.basename(a)).to.match(/^conv-choices-[0-9a-f]{16}\.json$/);
    expect(convChoicesPath(fakeAddon(2), env)).to.equal(a);
    expect(convChoicesPath(fakeAddon(4), env)).to.not.equal(a);
    expect(convChoicesPath(fakeAddon(2), { [CONV_CHOICES_ENV]: 'off' })).to.equal(undefined);
    expect(convChoicesPath(fakeAddon(2), { XDG_CACHE_HOME: dir })!.startsWith(path.join(dir, 'gaplab'))).to.equal(true);
  });

  it('reads a missing, broken or foreign file as no choices, and drops malformed entries', () => {
    const f = path.join(dir, 'c.json');
    expect(readConvChoices(f)).to.deep.equal([]);
    fs.writeFileSync(f, '{not json');
    expect(readConvChoices(f)).to.deep.equal([]);
    fs.writeFileSync(f, JSON.stringify({ format: 99, choices: [['k', 'plain']] }));
    expect(readConvChoices(f)).to.deep.equal([]);
    fs.writeFileSync(f, JSON.stringify({ format: 1, choices: [['k', 'plain'], ['j', 'fastest'], [3, 'split'], ['i'], ['h', 'split'], ['g', 'winograd']] }));
    expect(readConvChoices(f)).to.deep.equal([['k', 'plain'], ['h', 'split'], ['g', 'winograd']]);
  });

  it('saves by adding new keys only: choices already in the file win', () => {
    const f = path.join(dir, 'sub', 'c.json');
    saveConvChoices(fakeAddon(2, [['a', 'plain'], ['b', 'split']]), f);
    expect(readConvChoices(f)).to.deep.equal([['a', 'plain'], ['b', 'split']]);
    saveConvChoices(fakeAddon(2, [['b', 'blocked'], ['c', 'blocked']]), f);
    expect(readConvChoices(f)).to.deep.equal([['a', 'plain'], ['b', 'split'], ['c', 'blocked']]);
    const addon = fakeAddon(2);
    expect(loadConvChoices(addon, f)).to.equal(3);
    expect(addon.convChoices()).to.deep.equal([['a', 'plain'], ['b', 'split'], ['c', 'blocked']]);
    expect(loadConvChoices(addon, undefined)).to.equal(0);
    saveConvChoices(addon, undefined); // off: nothing to do, no error
  });

  it('caps what it reads at MAX_CHOICES and survives an addon that refuses the file', () => {
    const f = path.join(dir, 'big.json');
    const many = Array.from({ length: MAX_CHOICES + 5 }, (_, i) => [`k${i}`, 'plain']);
    fs.writeFileSync(f, JSON.stringify({ format: 1, choices: many }));
    expect(readConvChoices(f)).to.have.length(MAX_CHOICES);
    const refusing = { ...fakeAddon(2), setConvChoices: (c: unknown[]) => { if (c.length) throw new Error('no'); } } as unknown as NativeAddon;
    expect(loadConvChoices(refusing, f)).to.equal(0);
  });

  it('writes nothing when no choice was made (fixed layouts)', () => {
    const f = path.join(dir, 'none.json');
    saveConvChoices(fakeAddon(2), f);
    expect(fs.existsSync(f)).to.equal(false);
  });

  describe('in the addon', function () {
    let addon: NativeAddon;
    before(function () {
      const a = loadAddon();
      // These check auto mode; a fixed GAPLAB_CONV_LAYOUT records no choices.
      needsNative(this, a !== undefined && registerNativeBackend({ threads: 2 }));
      if ((process.env.GAPLAB_CONV_LAYOUT ?? 'auto') !== 'auto') this.skip();
      addon = a!;
    });
    after(async () => {
      if (addon) addon.setConvChoices([]);
      await tf.setBackend('cpu');
    });

    // 12 output channels: outputs with a multiple of 16 stay resident in oneDNN's layout, whose plan is fixed (no choice).
    const conv = () =>
      tf.tidy(() => {
        const x = tf.randomNormal([4, 12, 12, 8], 0, 1, 'float32', 1) as tf.Tensor4D;
        const w = tf.randomNormal([3, 3, 8, 12], 0, 1, 'float32', 2) as tf.Tensor4D;
        return tf.conv2d(x, w, 1, 'same').dataSync().slice();
      });

    it('records the layout auto mode picks and, given that choice, reruns the shape bit for bit without timing', async () => {
      await tf.setBackend('native');
      addon.setConvChoices([]);
      const first = conv();
      const recorded = addon.convChoices();
      expect(recorded).to.have.length(1);
      expect(['plain', 'blocked', 'split']).to.include(recorded[0][1]);
      // A fresh process would start with no plans and this choice: same plan, same bits.
      addon.setConvChoices(recorded);
      expect(addon.convCacheSize()).to.equal(0);
      expect(Array.from(conv())).to.deep.equal(Array.from(first));
      // Each pinned layout equals that layout forced, bit for bit.
      for (const layout of ['plain', 'blocked', 'split'] as const) {
        addon.setConvChoices([[recorded[0][0], layout]]);
        const pinned = conv();
        addon.setConvLayout(layout);
        try {
          expect(Array.from(conv())).to.deep.equal(Array.from(pinned));
        } finally {
          addon.setConvLayout('auto');
        }
      }
    });

    it('times Winograd against the blocked plan for a resident fp32 3x3 convolution, pins either, and turns it off', async () => {
      await tf.setBackend('native');
      addon.setConvChoices([]);
      // 16 -> 32 channels, 3x3, stride 1: the output is resident, and oneDNN has a Winograd kernel for the shape. The
      // forward pass and both gradients, each its own plan key.
      const shapes: Array<[number, number, number, number]> = [[4, 8, 8, 16], [3, 3, 16, 32], [4, 8, 8, 32]];
      const run = () => tf.tidy(() => {
        const [x, w, g] = shapes.map((sh, i) => tf.randomNormal(sh, 0, 1, 'float32', 30 + i)) as tf.Tensor4D[];
        const f = (a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, 1, 'same'), g!));
        return [tf.conv2d(x!, w!, 1, 'same'), ...tf.grads(f)([x!, w!])].map((t) => t.dataSync().slice());
      });
      run();
      const recorded = addon.convChoices().filter(([key]) => key.includes(',3,3,1,1,'));
      expect(recorded.map(([key]) => key.split(':')[0]).sort(), 'forward, input and filter gradients').to.deep.equal(['0', '1', '2']);
      // The resident plans (output y, and dx from g's gradient) choose blocked or Winograd; the filter gradient reads
      // fp32 NHWC x and g and chooses among every layout.
      recorded.forEach(([key, layout]) => expect(key.includes(':res') ? ['blocked', 'winograd'] : ['plain', 'blocked', 'split', 'winograd'], key).to.include(layout));
      const pinned = (layout: string) => {
        addon.setConvChoices(recorded.map(([key]) => [key, layout]));
        return run();
      };
      const wino = pinned('winograd'), direct = pinned('blocked');
      const ref = outputsOn('cpu', () => {
        const [x, w, g] = shapes.map((sh, i) => tf.randomNormal(sh, 0, 1, 'float32', 30 + i)) as tf.Tensor4D[];
        const f = (a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, 1, 'same'), g!));
        return [tf.conv2d(x!, w!, 1, 'same'), ...tf.grads(f)([x!, w!])];
      });
      await tf.setBackend('native');
      ['y', 'dx', 'dw'].forEach((what, i) => {
        expect(relError(ref[i]!.values, direct[i]!), `direct ${what}`).to.be.at.most(1e-5);
        expect(relError(ref[i]!.values, wino[i]!), `winograd ${what}`).to.be.at.most(1e-5);
        // Another algorithm: the same values to rounding, not the same bits.
        expect(Array.from(wino[i]!), `winograd ${what} is not the direct plan`).to.not.deep.equal(Array.from(direct[i]!));
      });
      // Off (GAPLAB_WINOGRAD=0), a Winograd choice runs the direct plan.
      addon.setWinograd!(false);
      try {
        expect(pinned('winograd').map((v) => Array.from(v))).to.deep.equal(direct.map((v) => Array.from(v)));
      } finally {
        addon.setWinograd!(true);
      }
      expect(() => addon.setConvLayout('winograd' as 'auto'), 'not a fixed mode').to.throw(/plain, blocked, split or auto/);
    });

    it('GAPLAB_WINOGRAD must be 0 or 1: another value is a user error naming it', () => {
      process.env[WINOGRAD_ENV] = 'yes';
      try {
        expect(() => registerNativeBackend({ threads: 2 })).to.throw(UserError, /GAPLAB_WINOGRAD=yes: must be 0 or 1/);
      } finally {
        delete process.env[WINOGRAD_ENV];
        registerNativeBackend({ threads: 2 });
      }
    });

    it('drops the choices when the thread count changes (they were timed for the old one)', async function () {
      if (!addon.info().openmp) this.skip(); // without OpenMP the thread count is fixed
      await tf.setBackend('native');
      addon.setConvChoices([]);
      conv();
      expect(addon.convChoices()).to.have.length(1);
      addon.setThreads(1);
      try {
        expect(addon.convChoices()).to.deep.equal([]);
      } finally {
        addon.setThreads(2);
      }
    });

    it('rejects malformed choices with a clear error and keeps the previous ones', () => {
      addon.setConvChoices([['k', 'plain']]);
      expect(() => addon.setConvChoices([['k', 'fastest']])).to.throw(/plain, blocked or split/);
      addon.setConvChoices([['k', 'winograd']]);
      expect(addon.convChoices()).to.deep.equal([['k', 'winograd']]);
      addon.setConvChoices([['k', 'plain']]);
      expect(() => addon.setConvChoices([['k']] as unknown as Array<[string, string]>)).to.throw(/\[key, layout\] pair/);
      expect(() => addon.setConvChoices('k' as unknown as Array<[string, string]>)).to.throw(/array/);
      expect(addon.convChoices()).to.deep.equal([['k', 'plain']]);
    });
  });
});
