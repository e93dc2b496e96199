// Optimizers and schedules against hand-computed values.
import { expect } from 'chai';
import * as tf from '@tensorflow/tfjs';
import { Adam, Sgd, type Optimizer } from '../../src/train/optimizer.js';
import { LrSchedule } from '../../src/train/schedule.js';
import { defaultConfig } from '../../src/config/schema.js';

/** Runs `steps` updates with a constant gradient of 2 on a scalar weight starting at 1. */
function run(opt: Optimizer, steps: number, decay = false): number[] {
  const w = tf.variable(tf.scalar(1), true, `w${Math.random()}`);
  const out: number[] = [];
  for (let i = 0; i < steps; i++) {
    opt.apply([w], { [w.name]: tf.scalar(2) }, new Set(decay ? [w.name] : []));
    out.push(w.dataSync()[0]);
  }
  w.dispose();
  opt.dispose();
  return out;
}

const close = (a: number[], b: number[]) => a.forEach((x, i) => expect(x).to.be.closeTo(b[i], 1e-6));

describe('optimizers (PyTorch update rules)', () => {
  it('SGD with momentum: 1 -> 0.8 -> 0.42', () => close(run(new Sgd(0.1, 0.9, false, 0), 2), [0.8, 0.42]));
  it('SGD Nesterov: 1 -> 0.62', () => close(run(new Sgd(0.1, 0.9, true, 0), 1), [0.62]));
  it('plain SGD with weight decay 0.5: g = 2 + 0.5 * 1 -> 0.75', () => close(run(new Sgd(0.1, 0, false, 0.5), 1, true), [0.75]));
  it('weight decay skips variables not named for decay', () => close(run(new Sgd(0.1, 0, false, 0.5), 1, false), [0.8]));
  it('Adam: bias-corrected steps of lr each: 1 -> 0.9 -> 0.8', () => close(run(new Adam(0.1, 0.9, 0.999, 1e-8, 0), 2), [0.9, 0.8]));

  it('a changed lr takes effect at the next step', () => {
    const opt = new Sgd(0.1, 0, false, 0);
    const w = tf.variable(tf.scalar(1));
    opt.apply([w], { [w.name]: tf.scalar(2) }, new Set());
    opt.lr = 0.01;
    opt.apply([w], { [w.name]: tf.scalar(2) }, new Set());
    expect(w.dataSync()[0]).to.be.closeTo(1 - 0.2 - 0.02, 1e-6);
    w.dispose();
  });

  it('state round-trips: a restored optimizer continues identically', () => {
    const a = new Sgd(0.1, 0.9, false, 0);
    const w = tf.variable(tf.scalar(1), true, 'w_roundtrip');
    a.apply([w], { [w.name]: tf.scalar(2) }, new Set());
    const b = new Sgd(0.1, 0.9, false, 0);
    b.load(a.state());
    a.apply([w], { [w.name]: tf.scalar(2) }, new Set());
    const expected = w.dataSync()[0];
    w.assign(tf.scalar(0.8));
    b.apply([w], { [w.name]: tf.scalar(2) }, new Set());
    expect(w.dataSync()[0]).to.equal(expected);
    expect(expected).to.be.closeTo(0.42, 1e-6);
    [a, b].forEach((o) => o.dispose());
    w.dispose();
  });

  it('does not leak tensors across steps, and leaves none once disposed (slots and restored state included)', () => {
    const start = tf.memory().numTensors;
    const opt = new Adam(0.1, 0.9, 0.999, 1e-8, 0.1);
    const init = tf.ones([3, 3]);
    const w = tf.variable(init);
    init.dispose();
    opt.apply([w], { [w.name]: tf.onesLike(w) }, new Set([w.name]));
    const before = tf.memory().numTensors;
    for (let i = 0; i < 5; i++) opt.apply([w], { [w.name]: tf.onesLike(w) }, new Set([w.name]));
    expect(tf.memory().numTensors).to.equal(before);
    const restored = new Adam(0.1, 0.9, 0.999, 1e-8, 0.1);
    restored.load(opt.state());
    restored.dispose();
    expect(tf.memory().numTensors, 'a restored copy of the state, disposed').to.equal(before);
    opt.dispose();
    w.dispose();
    expect(tf.memory().numTensors, 'the slots\' initial zeros are not left behind').to.equal(start);
  });
});

describe('learning-rate schedules', () => {
  const sched = (over: object, epochs = 4, base = 1) =>
    new LrSchedule({ ...defaultConfig().train.schedule, ...over }, base, epochs);

  it('step divides at milestones', () => {
    const s = sched({ name: 'step', milestones: [2, 4], gamma: 0.1 }, 6);
    close([0, 1, 2, 3, 4, 5].map((e) => s.lr(e)), [1, 1, 0.1, 0.1, 0.01, 0.01]);
  });
  it('cosine from base to minLr', () => {
    const s = sched({ name: 'cosine' });
    close([0, 1, 2, 3].map((e) => s.lr(e)), [1, 0.5 * (1 + Math.SQRT1_2), 0.5, 0.5 * (1 - Math.SQRT1_2)]);
  });
  it('warm-up rises linearly from base/10, then the schedule starts', () => {
    const s = sched({ name: 'cosine', warmupEpochs: 2 }, 4);
    close([0, 1, 2, 3].map((e) => s.lr(e)), [0.1, 0.55, 1, 0.5]);
  });
  it('plateau multiplies by gamma after `patience` epochs without improvement, and resumes from state', () => {
    const s = sched({ name: 'plateau', patience: 2, gamma: 0.5 });
    s.observe(1.0);
    s.observe(1.1);
    expect(s.lr(2)).to.equal(1);
    s.observe(1.2);
    expect(s.lr(3)).to.equal(0.5);
    const t = sched({ name: 'plateau', patience: 2, gamma: 0.5 });
    t.load(s.state());
    expect(t.lr(4)).to.equal(0.5);
  });
});
