// The native backend's output memory: the addon's heap (reuse for any size after dispose, never memory user code can
// still see) and the per-size pool of older addons (reuse, same guarantees, bounded size).
import * as tf from '@tensorflow/tfjs';
import { expect } from 'chai';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

import { loadAddon } from '../../src/backend/native/addon.js';
import { NativeBackend } from '../../src/backend/native/backend.js';
import { nativeReady } from './helpers.js';
import { needsNative } from '../requires.js';

const N = 1 << 16; // above the pooling threshold

function valuesOf(t: tf.Tensor): Float32Array {
  return (tf.backend() as NativeBackend).data.get(t.dataId).values as Float32Array;
}

/** Byte range [start, end) of a view in its ArrayBuffer. */
function range(v: Float32Array): [number, number] {
  return [v.byteOffset, v.byteOffset + v.byteLength];
}

function overlaps(a: Float32Array, b: Float32Array): boolean {
  const [a0, a1] = range(a), [b0, b1] = range(b);
  return a.buffer === b.buffer && a0 < b1 && b0 < a1;
}

describe('native backend: output memory on the heap', function () {
  before(async function () {
    needsNative(this, nativeReady());
    await tf.setBackend('native');
    if (!loadAddon()!.heapStats) throw new Error('the addon has no heap: rebuild it (npm run build:native)');
  });
  after(() => tf.setBackend('cpu'));

  it('hands a disposed output\'s memory to the next output, of any size, without growing the heap', () => {
    const heap = loadAddon()!.heapStats!;
    const x = tf.fill([N], -1.5);
    const a = tf.relu(x);
    const first = valuesOf(a);
    const high = heap().highWaterBytes;
    a.dispose();
    const b = tf.relu(tf.slice(x, 0, N / 2));
    expect(valuesOf(b).buffer).to.equal(first.buffer);
    expect(overlaps(valuesOf(b), first), 'reuses the freed block').to.equal(true);
    expect(heap().highWaterBytes).to.equal(high);
    expect(b.dataSync()[0]).to.equal(0);
    tf.dispose([x, b]);
  });

  it('never reuses memory that was read out while the array read out is alive (dataSync returns the storage itself)', () => {
    const x = tf.fill([N], 2);
    const a = tf.relu(x);
    const seen = a.dataSync() as Float32Array;
    a.dispose();
    const b = tf.neg(x);
    expect(overlaps(valuesOf(b), seen)).to.equal(false);
    expect(seen[0]).to.equal(2);
    tf.dispose([x, b]);
  });

  it('keeps a block allocated while a view of it (contiguous slice) is alive', () => {
    const x = tf.fill([2, N], 3);
    const a = tf.relu(x);
    const view = tf.slice(a, [1, 0], [1, N]);
    const buf = valuesOf(a);
    a.dispose();
    const b = tf.neg(x);
    expect(overlaps(valuesOf(b), buf)).to.equal(false);
    expect(view.dataSync()[0]).to.equal(3);
    tf.dispose([x, b, view]);
  });

  it('frees a block read out to user code once V8 has collected the array (no leak)', async () => {
    // V8's gc() without --expose-gc on the command line: the flag, then a fresh context that sees the function.
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    // Collections run the FinalizationRegistry callbacks in later tasks: a few rounds, so earlier tests' arrays are
    // settled before counting.
    const settle = async () => {
      for (let i = 0; i < 5; i++) {
        gc();
        await new Promise((r) => setTimeout(r, 5));
      }
    };
    const heap = loadAddon()!.heapStats!;
    const x = tf.fill([N], 2);
    await settle();
    const start = heap().blocks;
    const a = tf.relu(x);
    let seen: Float32Array | undefined = a.dataSync() as Float32Array;
    a.dispose();
    await settle();
    expect(heap().blocks, 'kept while the array read out is alive').to.equal(start + 1);
    expect(seen[0]).to.equal(2);
    seen = undefined;
    await settle();
    expect(heap().blocks, 'freed once it is collected').to.equal(start);
    x.dispose();
  });

  it('returns every block once its tensors are disposed', () => {
    const heap = loadAddon()!.heapStats!;
    const start = heap().blocks;
    tf.tidy(() => {
      let t = tf.fill([4, N], 1);
      for (let i = 0; i < 20; i++) t = tf.relu(tf.add(t, tf.fill([4, N], i)));
      return undefined;
    });
    expect(heap().blocks).to.equal(start);
  });
});

describe('native backend: per-size buffer pool (addons without the heap)', function () {
  before(function () {
    needsNative(this, nativeReady());
  });

  const pooledBackend = (opts: { maxPooledBytes?: number } = {}) => new NativeBackend(loadAddon()!, { ...opts, heap: false });
  const make = (backend: NativeBackend, n: number) => backend.makeOutput32([n], backend.allocFloat32(n));

  it('hands a disposed output buffer to the next output of that size', () => {
    const backend = pooledBackend();
    const a = make(backend, N);
    const buf = backend.data.get(a.dataId).values;
    backend.disposeData(a.dataId);
    expect(backend.allocFloat32(N)).to.equal(buf);
    backend.dispose();
  });

  it('never recycles a buffer that was read out', () => {
    const backend = pooledBackend();
    const a = make(backend, N);
    const seen = backend.readSync(a.dataId);
    backend.disposeData(a.dataId);
    expect(backend.allocFloat32(N)).to.not.equal(seen);
    backend.dispose();
  });

  it('stays under its byte cap, dropping the least recently used sizes first', () => {
    const backend = pooledBackend({ maxPooledBytes: 3 * N * 4 });
    const small = [make(backend, N), make(backend, N)];
    const large = make(backend, 2 * N);
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
