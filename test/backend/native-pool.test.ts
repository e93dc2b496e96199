// The native backend's output-buffer pool: reuse after dispose, never a buffer user code can still see, bounded size.
import * as tf from '@tensorflow/tfjs';
import { expect } from 'chai';

import { loadAddon } from '../../src/backend/native/addon.js';
import { NativeBackend } from '../../src/backend/native/backend.js';
import { nativeReady } from './helpers.js';
import { needsNative } from '../requires.js';

const N = 1 << 16; // above the pooling threshold

function valuesOf(t: tf.Tensor): unknown {
  return (tf.backend() as NativeBackend).data.get(t.dataId).values;
}

describe('native backend: buffer pool', function () {
  before(async function () {
    needsNative(this, nativeReady());
    await tf.setBackend('native');
  });
  after(() => tf.setBackend('cpu'));

  it('hands a disposed output buffer to the next output of that size', () => {
    const x = tf.fill([N], -1.5);
    const a = tf.relu(x);
    const buf = valuesOf(a);
    a.dispose();
    const b = tf.relu(x);
    expect(valuesOf(b)).to.equal(buf);
    expect(b.dataSync()[0]).to.equal(0);
    tf.dispose([x, b]);
  });

  it('never recycles a buffer that was read out (dataSync returns the storage itself)', () => {
    const x = tf.fill([N], 2);
    const a = tf.relu(x);
    const seen = a.dataSync();
    a.dispose();
    const b = tf.neg(x);
    expect(valuesOf(b)).to.not.equal(seen);
    expect(seen[0]).to.equal(2);
    tf.dispose([x, b]);
  });

  it('keeps a buffer out of the pool while a view of it (contiguous slice) is alive', () => {
    const x = tf.fill([2, N], 3);
    const a = tf.relu(x);
    const view = tf.slice(a, [1, 0], [1, N]);
    const buf = valuesOf(a) as Float32Array;
    a.dispose();
    const b = tf.relu(x);
    expect(valuesOf(b)).to.not.equal(buf);
    expect(view.dataSync()[0]).to.equal(3);
    tf.dispose([x, b, view]);
  });

  it('stays under its byte cap, dropping the least recently used sizes first', () => {
    const backend = new NativeBackend(loadAddon()!, { maxPooledBytes: 3 * N * 4 });
    const make = (n: number) => backend.makeOutput32([n], backend.allocFloat32(n));
    const small = [make(N), make(N)];
    const large = make(2 * N);
    small.forEach((t) => backend.disposeData(t.dataId));
    expect(backend.pooled()).to.deep.equal({ bytes: 2 * N * 4, buffers: 2 });
    backend.disposeData(large.dataId);
    // 4N floats offered, 3N allowed: the older size (N) gives up buffers until the total fits.
    expect(backend.pooled().bytes).to.be.at.most(3 * N * 4);
    expect(backend.pooled().buffers).to.equal(2);
    const again = backend.allocFloat32(2 * N);
    expect(again.length).to.equal(2 * N);
    expect(backend.pooled()).to.deep.equal({ bytes: N * 4, buffers: 1 });
    backend.dispose();
    expect(backend.pooled()).to.deep.equal({ bytes: 0, buffers: 0 });
  });
});
