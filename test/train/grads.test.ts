// variableGradsFreeing: the same gradients as tf.variableGrads, with gradients and saved tensors freed on the way.
import * as tf from '@tensorflow/tfjs';
import { expect } from 'chai';

import { variableGradsFreeing } from '../../src/train/grads.js';

/** A chain of dense layers with a residual add (a tensor used twice: its gradient is accumulated), a variable the
 *  loss does not use, and a side output kept out of the tape's path, as trainStep's correct count is. After the
 *  first layer an identity op with a custom gradient records the data buffers alive when the backward pass reaches
 *  it, i.e. when every later layer's backward pass is done. */
function setup() {
  const buffersAtFirstLayer: number[] = [];
  const probe = tf.customGrad(((t: tf.Tensor) => ({
    value: t.clone(),
    gradFunc: (dy: tf.Tensor) => {
      buffersAtFirstLayer.push(tf.memory().numDataBuffers);
      return dy.clone();
    },
  })) as unknown as Parameters<typeof tf.customGrad>[0]);
  const vars = [0, 1, 2, 3, 4, 5, 6, 7].map((i) => tf.variable(tf.randomNormal([16, 16], 0, 0.3, 'float32', 10 + i), true, `w${i}`));
  const unused = tf.variable(tf.ones([2]), true, 'unused');
  const x = tf.randomNormal([256, 16], 0, 1, 'float32', 1);
  let side: tf.Tensor | undefined;
  const loss = () => {
    let h = x;
    for (const [i, w] of vars.entries()) {
      const next = tf.relu(tf.matMul(h, w));
      h = i === 2 ? tf.add(next, h) : i === 0 ? probe(next) : next;
    }
    side = tf.keep(tf.max(h));
    return tf.mean(tf.square(h)) as tf.Scalar;
  };
  return { vars: [...vars, unused], x, loss, side: () => side!, buffersAtFirstLayer };
}

describe('variableGradsFreeing', () => {
  it('gives tf.variableGrads\'s value and gradients bit for bit (residual accumulation, unused variable)', () => {
    const s = setup();
    const ref = tf.variableGrads(s.loss, s.vars);
    s.side().dispose();
    const got = variableGradsFreeing(s.loss, s.vars);
    s.side().dispose();
    expect(got.value.dataSync()[0]).to.equal(ref.value.dataSync()[0]);
    expect(Object.keys(got.grads).sort()).to.deep.equal(Object.keys(ref.grads).sort());
    expect(got.grads.unused).to.equal(undefined);
    for (const name of Object.keys(ref.grads)) {
      expect(Array.from(got.grads[name]!.dataSync()), name).to.deep.equal(Array.from(ref.grads[name]!.dataSync()));
    }
    tf.dispose([ref.value, got.value, ...Object.values(ref.grads), ...Object.values(got.grads), s.x, ...s.vars]);
  });

  it('frees each layer\'s gradients and saved tensors once past it, and leaves no tensors behind', () => {
    const s = setup();
    const start = tf.memory().numTensors;
    const buffersAtFirstLayer = (f: typeof variableGradsFreeing) => {
      const { value, grads } = f(s.loss, s.vars);
      tf.dispose([value, ...Object.values(grads)]);
      s.side().dispose();
      expect(tf.memory().numTensors, 'tensors left').to.equal(start);
      return s.buffersAtFirstLayer.pop()!;
    };
    const theirs = buffersAtFirstLayer(tf.variableGrads), ours = buffersAtFirstLayer(variableGradsFreeing);
    // Seven later layers, each leaving (in tfjs) its input and output gradients, its saved matmul input and ReLU output
    // and the weight gradient: ours keeps only the weight gradients of those (7) and what the first layer needs.
    const base = tf.memory().numDataBuffers;
    expect(theirs - base, 'tfjs: buffers beyond the variables and x').to.be.at.least(28);
    expect(ours - base, 'ours').to.be.at.most(12);
    tf.dispose([s.x, ...s.vars]);
  });

  it('is tf.variableGrads inside another gradient computation (higher-order gradients need the tape)', () => {
    const w = tf.variable(tf.scalar(3), true, 'w3');
    // d/dw of (d/dw w^3) = 6w = 18: needs the inner tape intact.
    const outer = tf.variableGrads(() => {
      const inner = variableGradsFreeing(() => tf.pow(w, 3) as tf.Scalar, [w]);
      return inner.grads.w3 as tf.Scalar;
    }, [w]);
    expect(outer.grads.w3!.dataSync()[0]).to.be.closeTo(18, 1e-5);
    tf.dispose([outer.value, outer.grads.w3!, w]);
  });
});
