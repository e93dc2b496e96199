// The `native` tfjs backend: the cpu backend's storage and kernels, plus a pool that recycles large output buffers.
import type { DataType, TensorInfo } from '@tensorflow/tfjs';
import { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import { totalmem } from 'node:os';

import type { NativeAddon } from './addon.js';

type DataId = object;
type BackendValues = Parameters<MathBackendCPU['write']>[0];

/** Buffers smaller than this many floats are left to V8: pooling pays off for activations, not scalars. */
const MIN_POOLED_LENGTH = 1 << 14;

/**
 * A MathBackendCPU whose native kernels write into Float32Arrays taken from a pool. A freshly allocated 50 MB
 * array costs ~18 ms of page faults and waits for V8's GC to be freed; tfjs disposes tensors explicitly, so their
 * buffers can be reused at once. Only buffers this backend allocated are recycled, never one that user code may
 * still hold: a buffer read out through readSync/read is dropped from the pool's bookkeeping for good, and views
 * (the cpu Slice kernel returns subarrays) keep their buffer out of the pool until every view is disposed.
 */
export class NativeBackend extends MathBackendCPU {
  readonly addon: NativeAddon;
  /** Upper bound on the bytes the pool keeps idle. */
  readonly maxPooledBytes: number;
  private readonly pool = new Map<number, Float32Array[]>();
  private pooledBytes = 0;
  /** Buffers we allocated and never exposed -> the full-length array to recycle. */
  private readonly owned = new WeakMap<ArrayBufferLike, Float32Array>();
  /** Live data entries per owned buffer (several when views share it). */
  private readonly liveRefs = new WeakMap<ArrayBufferLike, number>();

  constructor(addon: NativeAddon, opts: { maxPooledBytes?: number } = {}) {
    super();
    this.addon = addon;
    // An eighth of the RAM, at most 4 GiB: enough for the transient buffers of a NIN step at batch 128 (~2 GiB).
    this.maxPooledBytes = opts.maxPooledBytes ?? Math.min(4 * 2 ** 30, Math.floor(totalmem() / 8));
    // The cpu backend's first write prints "install tfjs-node to speed things up": not advice for this backend.
    Reflect.set(this, 'firstUse', false);
  }

  /** A Float32Array of n elements for a kernel output; contents are undefined (recycled), so kernels overwrite all. */
  allocFloat32(n: number): Float32Array {
    if (n < MIN_POOLED_LENGTH) return new Float32Array(n);
    const free = this.pool.get(n);
    const reused = free?.pop();
    if (reused) {
      this.pooledBytes -= reused.byteLength;
      this.touch(n, free!);
      return reused;
    }
    const fresh = new Float32Array(n);
    this.owned.set(fresh.buffer, fresh);
    return fresh;
  }

  /** Wraps a kernel output in a tensor entry. */
  makeOutput32(shape: number[], values: Float32Array): TensorInfo {
    return this.makeTensorInfo(shape, 'float32', values);
  }

  /** The Float32Array behind a float32 tensor, or undefined when the kernel must fall back (other dtypes, and
   *  float32 tensors that share an int32 buffer after a lossless Cast). */
  f32(t: TensorInfo): Float32Array | undefined {
    if (t.dtype !== 'float32') return undefined;
    const values = this.data.get(t.dataId).values;
    return values instanceof Float32Array ? values : undefined;
  }

  /** Bytes idle in the pool (for tests and the benchmark). */
  pooled(): { bytes: number; buffers: number } {
    let buffers = 0;
    for (const list of this.pool.values()) buffers += list.length;
    return { bytes: this.pooledBytes, buffers };
  }

  /** Drops every pooled buffer (V8 frees them). */
  releasePool(): void {
    this.pool.clear();
    this.pooledBytes = 0;
  }

  override write(values: BackendValues, shape: number[], dtype: DataType): DataId {
    this.track(values, 1);
    return super.write(values, shape, dtype);
  }

  override move(dataId: DataId, values: BackendValues, shape: number[], dtype: DataType, refCount: number): void {
    this.track(values, 1);
    super.move(dataId, values, shape, dtype, refCount);
  }

  override readSync(dataId: DataId): BackendValues {
    const values = super.readSync(dataId);
    this.expose(this.data.has(dataId) ? this.data.get(dataId).values : undefined);
    return values;
  }

  override disposeData(dataId: DataId, force = false): boolean {
    const values = this.data.has(dataId) ? this.data.get(dataId).values : undefined;
    const released = super.disposeData(dataId, force);
    if (values !== undefined && !this.data.has(dataId)) this.track(values, -1);
    return released;
  }

  override dispose(): void {
    this.releasePool();
    super.dispose();
  }

  private track(values: BackendValues | undefined, delta: 1 | -1): void {
    if (!(values instanceof Float32Array)) return;
    const buf = values.buffer;
    const full = this.owned.get(buf);
    if (full === undefined) return;
    const refs = (this.liveRefs.get(buf) ?? 0) + delta;
    this.liveRefs.set(buf, refs);
    if (refs > 0) return;
    this.liveRefs.delete(buf);
    if (full.byteLength > this.maxPooledBytes) {
      this.owned.delete(buf);
      return;
    }
    const list = this.pool.get(full.length) ?? [];
    list.push(full);
    this.pooledBytes += full.byteLength;
    this.touch(full.length, list);
    this.evict();
  }

  /** Marks a size as most recently used (a Map iterates in insertion order). */
  private touch(n: number, list: Float32Array[]): void {
    this.pool.delete(n);
    this.pool.set(n, list);
  }

  /** Over the cap, drops buffers of the sizes used least recently (shapes from an earlier phase, e.g. another batch size). */
  private evict(): void {
    for (const [n, list] of this.pool) {
      if (this.pooledBytes <= this.maxPooledBytes) return;
      while (list.length > 0 && this.pooledBytes > this.maxPooledBytes) {
        const dropped = list.shift()!;
        this.owned.delete(dropped.buffer);
        this.pooledBytes -= dropped.byteLength;
      }
      if (list.length === 0) this.pool.delete(n);
    }
  }

  private expose(values: BackendValues | undefined): void {
    if (values instanceof Float32Array) this.owned.delete(values.buffer);
  }
}
