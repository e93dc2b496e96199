// The fused SGD-momentum kernel: the same bits as Sgd's tfjs ops, decayed or not, Nesterov or not, on hand values too.
import * as tf from '@tensorflow/tfjs';
import { expect } from 'chai';

import { SGD_MOMENTUM } from '../../src/backend/native/kernels/sgd.js';
import { Sgd } from '../../src/train/optimizer.js';
import { nativeCount, nativeReady, randomArray } from './helpers.js';
import { needsNative } from '../requires.js';

describe('native backend: fused SGD-momentum update', function () {
  this.timeout(60_000);
  before(function () {
    needsNative(this, nativeReady());
  });
  after(() => tf.setBackend('cpu'));

  /** Three steps on two variables (one decayed) with seeded gradients; the variables' and buffers' final values. */
  function train(backend: string, nesterov: boolean, fused: boolean): Float32Array[] {
    tf.setBackend(backend);
    const opt = new Sgd(0.02, 0.9, nesterov, 5e-4);
    opt.fusedEnabled = fused;
    const variable = (n: number, seed: number, name: string) => {
      const init = tf.tensor(randomArray(n, seed), [n]);
      const v = tf.variable(init, true, `${name}${Math.random()}`);
      init.dispose();
      return v;
    };
    const a = variable(70_000, 1, 'a'), b = variable(33, 2, 'b');
    for (let step = 0; step < 3; step++) {
      opt.apply([a, b], { [a.name]: tf.tensor(randomArray(70_000, 10 + step)), [b.name]: tf.tensor(randomArray(33, 20 + step)) }, new Set([a.name]));
    }
    const slots = opt.state().slots;
    const out = [a, b, slots[a.name]!.momentum!, slots[b.name]!.momentum!].map((t) => Float32Array.from(t.dataSync()));
    tf.dispose([a, b]);
    opt.dispose();
    return out;
  }

  for (const nesterov of [false, true]) {
    it(`gives the tfjs ops' values bit for bit (native and cpu), nesterov ${nesterov}, with and without weight decay`, () => {
      const calls = nativeCount(SGD_MOMENTUM), tensors = tf.memory().numTensors;
      const fused = train('native', nesterov, true);
      expect(nativeCount(SGD_MOMENTUM) - calls, 'two variables, three steps').to.equal(6);
      expect(tf.memory().numTensors, 'tensors left behind').to.equal(tensors);
      const ops = train('native', nesterov, false);
      const cpu = train('cpu', nesterov, true);
      expect(nativeCount(SGD_MOMENTUM) - calls, 'the tfjs-op and cpu runs do not use it').to.equal(6);
      fused.forEach((v, i) => {
        expect(Array.from(v), `output ${i}: fused vs tfjs ops on native`).to.deep.equal(Array.from(ops[i]!));
        expect(Array.from(v), `output ${i}: fused vs cpu`).to.deep.equal(Array.from(cpu[i]!));
      });
    });
  }

  it('by hand: w = 1, g = 2, wd 0.5, momentum 0.9, lr 0.1: m = 2.5, w = 0.75; then m = 4.625, w = 0.2875', () => {
    tf.setBackend('native');
    const opt = new Sgd(0.1, 0.9, false, 0.5);
    const w = tf.variable(tf.tensor1d([1]), true, `w${Math.random()}`);
    opt.apply([w], { [w.name]: tf.tensor1d([2]) }, new Set([w.name]));
    expect(w.dataSync()[0]).to.be.closeTo(0.75, 1e-7);
    expect(opt.state().slots[w.name]!.momentum!.dataSync()[0]).to.be.closeTo(2.5, 1e-7);
    // g = 2 + 0.5 * 0.75 = 2.375; m = 0.9 * 2.5 + 2.375 = 4.625; w = 0.75 - 0.4625 = 0.2875.
    opt.apply([w], { [w.name]: tf.tensor1d([2]) }, new Set([w.name]));
    expect(w.dataSync()[0]).to.be.closeTo(0.2875, 1e-7);
    w.dispose();
    opt.dispose();
  });
});
