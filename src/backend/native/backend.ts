// The `native` tfjs backend: the cpu backend's storage and kernels, with large outputs on the addon's heap (or, with
// an older addon, in a pool that recycles buffers by size).
import type { DataType, TensorInfo } from '@tensorflow/tfjs';
import { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import { totalmem } from 'node:os';

import type { NativeAddon } from './addon.js';

type DataId = object;
type BackendValues = Parameters<MathBackendCPU['write']>[0];

/** Buffers smaller than this many floats are left to V8: pooling pays off for activations, not scalars. */
const MIN_POOLED_LENGTH = 1 << 14;

/** One block of the addon's heap: data entries using it, and views of it handed to user code and not yet collected. */
interface HeapBlock {
  offset: number;
  bytes: number;
  refs: number;
  exposedViews: number;
}

/** A resident tensor's storage: oneDNN's nChw16c layout ([n, c/16, h*w, 16]) on the addon's heap, bfloat16 (in
 *  precision bf16) or fp32, until a kernel that reads fp32 NHWC asks for its values (see NativeBackend.makeResident). */
export interface ResidentData {
  view: Uint16Array | Float32Array;
  offset: number;
  /** The tensor's shape when made, [n, h, w, c] (a Reshape shares the dataId under another shape). */
  shape: number[];
}

/** The largest ArrayBuffer N-API makes over external memory (4 GiB), less a page. */
const MAX_HEAP_BYTES = 2 ** 32 - 4096;

/** The addon's heap (one ArrayBuffer over its reserved range), shared by every NativeBackend of the process; null when
 *  unavailable (an older addon, or the range refused). */
let sharedHeap: ArrayBuffer | null | undefined;

function heapOf(addon: NativeAddon): ArrayBuffer | null {
  if (sharedHeap === undefined) {
    // Address space only (pages count once used): half the RAM, at most N-API's 4 GiB per ArrayBuffer; outputs that
    // do not fit get V8-owned arrays.
    const ok = addon.heapAlloc && addon.heapFree && addon.reserveHeap;
    sharedHeap = ok ? addon.reserveHeap!(Math.min(Math.floor(totalmem() / 2), MAX_HEAP_BYTES)) : null;
  }
  return sharedHeap;
}

/**
 * A MathBackendCPU whose native kernels write into Float32Arrays from the addon's heap (or a pool). A freshly allocated
 * 50 MB array costs ~18 ms of page faults and waits for V8's GC to be freed; tfjs disposes tensors explicitly, so their
 * memory can be reused at once. The heap reuses it for outputs of any size; the pool (older addons) only for outputs
 * of the same size, so it holds the largest count of every size (for NIN 1.7x the largest set of live tensors).
 * Only memory this backend allocated is reused, never one that user code may still hold: a buffer read out through
 * readSync/read stays allocated until V8 collects every view of it handed out, and views (the cpu Slice kernel
 * returns subarrays) keep their buffer allocated until every view is disposed.
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

  /** The heap's ArrayBuffer, or null when outputs come from the pool. */
  private readonly heap: ArrayBuffer | null;
  /** Live heap blocks by byte offset. */
  private readonly blocks = new Map<number, HeapBlock>();
  /** Frees a block whose tensors are disposed once V8 has collected its views (exposed ones, or one never wrapped
   *  in a tensor because its kernel threw). */
  private readonly collected = new FinalizationRegistry<{ block: HeapBlock; exposed: boolean }>((h) => {
    if (h.exposed) h.block.exposedViews--;
    this.freeIfUnused(h.block);
  });
  private readonly exposedViews = new WeakSet<Float32Array>();
  /** Data entries held resident (not yet turned into fp32 NHWC values). */
  private readonly residents = new Map<DataId, ResidentData>();
  /** Off with GAPLAB_RESIDENT=0 (for comparisons): convolutions then hand back fp32 NHWC as before. */
  residentEnabled = process.env.GAPLAB_RESIDENT !== '0';

  /** opts.heap false: the per-size pool even where the addon has a heap (tests of the pool). */
  constructor(addon: NativeAddon, opts: { maxPooledBytes?: number; heap?: boolean } = {}) {
    super();
    this.addon = addon;
    this.heap = opts.heap === false ? null : heapOf(addon);
    // An eighth of the RAM, at most 4 GiB: enough for the transient buffers of a NIN step at batch 128 (~2 GiB).
    this.maxPooledBytes = opts.maxPooledBytes ?? Math.min(4 * 2 ** 30, Math.floor(totalmem() / 8));
    // The cpu backend's first write prints "install tfjs-node to speed things up": not advice for this backend.
    Reflect.set(this, 'firstUse', false);
  }

  /** A Float32Array of n elements for a kernel output; contents are undefined (recycled), so kernels overwrite all. */
  allocFloat32(n: number): Float32Array {
    if (n < MIN_POOLED_LENGTH) return new Float32Array(n);
    if (this.heap) {
      const offset = this.addon.heapAlloc!(n * 4);
      if (offset < 0) return new Float32Array(n);
      const view = new Float32Array(this.heap, offset, n);
      const block: HeapBlock = { offset, bytes: n * 4, refs: 0, exposedViews: 0 };
      this.blocks.set(offset, block);
      this.collected.register(view, { block, exposed: false });
      return view;
    }
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

  /**
   * True when a convolution with `channels` outputs should write them resident: the default (auto) layout mode (a
   * fixed GAPLAB_CONV_LAYOUT runs every convolution as it says, on fp32 NHWC tensors), the heap, an addon with
   * resident operands in both precisions, and a multiple of 16 channels (nChw16c without padding).
   */
  residentOutputs(channels: number): boolean {
    return this.residentEnabled && this.heap !== null && channels % 16 === 0 && this.addon.residentToF32 !== undefined &&
      this.addon.getConvLayout?.() === 'auto';
  }

  /**
   * An [n, h, w, c] output written resident by `write` (given a heap block of the current precision: bf16 a
   * Uint16Array, else a Float32Array), or undefined where it cannot be (residentOutputs says no, or the heap is full:
   * the caller writes fp32 NHWC instead). The block is freed if `write` throws.
   */
  residentOutput(shape: number[], write: (view: Uint16Array | Float32Array) => void): TensorInfo | undefined {
    return this.residentOutputsOf([{ shape }], ([view]) => write(view!))?.[0];
  }

  /**
   * Several resident outputs written by one call (each in the current precision, or fp32 where `f32`), all or none:
   * undefined where any cannot be (see residentOutput), with every block freed, as when `write` throws.
   */
  residentOutputsOf(specs: Array<{ shape: number[]; f32?: boolean }>, write: (views: Array<Uint16Array | Float32Array>) => void): TensorInfo[] | undefined {
    if (!this.heap || !specs.every((o) => o.shape.length === 4 && this.residentOutputs(o.shape[3]!))) return undefined;
    const blocks: Array<{ view: Uint16Array | Float32Array; offset: number }> = [];
    const freeAll = () => blocks.forEach((b) => this.addon.heapFree!(b.offset));
    for (const { shape, f32 } of specs) {
      const n = shape.reduce((p, d) => p * d, 1);
      const bf16 = !f32 && this.bf16();
      const offset = this.addon.heapAlloc!(n * (bf16 ? 2 : 4));
      if (offset < 0) {
        freeAll();
        return undefined;
      }
      blocks.push({ view: bf16 ? new Uint16Array(this.heap, offset, n) : new Float32Array(this.heap, offset, n), offset });
    }
    try {
      write(blocks.map((b) => b.view));
    } catch (e) {
      freeAll();
      throw e;
    }
    return blocks.map((b, i) => this.makeResident(specs[i]!.shape, b));
  }

  /**
   * Wraps a resident output [n, h, w, c] in a tensor entry. Its `values` is materialized on first read: every cpu
   * kernel (and readSync) reads `data.get(id).values`, which then converts the resident values to fp32 NHWC (exactly)
   * and frees the resident block, so only kernels that ask for `resident(t)` ever see oneDNN's layout.
   */
  private makeResident(shape: number[], block: { view: Uint16Array | Float32Array; offset: number }): TensorInfo {
    const info = this.makeTensorInfo(shape, 'float32');
    const res: ResidentData = { ...block, shape: shape.slice() };
    this.residents.set(info.dataId, res);
    const entry = this.data.get(info.dataId) as { values?: BackendValues };
    Object.defineProperty(entry, 'values', {
      configurable: true,
      enumerable: true,
      get: () => this.materialize(info.dataId, entry),
      set: (v: BackendValues) => {
        this.dropResident(info.dataId);
        Object.defineProperty(entry, 'values', { value: v, writable: true, configurable: true, enumerable: true });
      },
    });
    return info;
  }

  /**
   * What a resident-capable kernel passes the addon for t: its resident view (`resident: true`) when that is in the
   * current precision (bf16 in bf16, fp32 in fp32; either with `anyPrecision`, for kernels that read both storages),
   * else its fp32 NHWC values (materialized if need be), or undefined where the kernel must fall back (see f32).
   */
  operand(t: TensorInfo, anyPrecision = false): { v: Float32Array | Uint16Array; resident: boolean } | undefined {
    const r = this.resident(t);
    if (r && (anyPrecision || (r.view instanceof Uint16Array) === this.bf16())) return { v: r.view, resident: true };
    const v = this.f32(t);
    return v && { v, resident: false };
  }

  /** True in precision bf16 (resident outputs are then bf16). */
  bf16(): boolean {
    return this.addon.getPrecision?.() === 'bf16';
  }

  /** The resident storage of t, if t is held so under the shape it was made with. */
  resident(t: TensorInfo): ResidentData | undefined {
    const r = this.residents.get(t.dataId);
    return r && t.shape.length === 4 && t.shape.every((d, i) => d === r.shape[i]) ? r : undefined;
  }

  /** Resident entries not yet materialized (tests). */
  residentCount(): number {
    return this.residents.size;
  }

  private materialize(dataId: DataId, entry: { values?: BackendValues }): Float32Array {
    const r = this.residents.get(dataId)!;
    const values = this.allocFloat32(r.view.length);
    const [, h, w, c] = r.shape as [number, number, number, number];
    this.addon.residentToF32!(r.view, values, c, h * w);
    this.track(values, 1);
    this.dropResident(dataId);
    Object.defineProperty(entry, 'values', { value: values, writable: true, configurable: true, enumerable: true });
    return values;
  }

  private dropResident(dataId: DataId): void {
    const r = this.residents.get(dataId);
    if (!r) return;
    this.residents.delete(dataId);
    this.addon.heapFree!(r.offset);
  }

  /** Heap bytes in live blocks (0 without the heap). */
  heapBytes(): number {
    let bytes = 0;
    for (const b of this.blocks.values()) bytes += b.bytes;
    for (const r of this.residents.values()) bytes += r.view.byteLength;
    return bytes;
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
    // A resident entry has no fp32 values to return (reading them here would convert them for nothing).
    const values = this.data.has(dataId) && !this.residents.has(dataId) ? this.data.get(dataId).values : undefined;
    const released = super.disposeData(dataId, force);
    if (!this.data.has(dataId)) {
      this.dropResident(dataId);
      if (values !== undefined) this.track(values, -1);
    }
    return released;
  }

  override dispose(): void {
    this.releasePool();
    super.dispose();
  }

  private track(values: BackendValues | undefined, delta: 1 | -1): void {
    if (!(values instanceof Float32Array)) return;
    const block = this.blockOf(values);
    if (block) {
      block.refs += delta;
      this.freeIfUnused(block);
      return;
    }
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
    if (!(values instanceof Float32Array)) return;
    const block = this.blockOf(values);
    if (block && !this.exposedViews.has(values)) {
      this.exposedViews.add(values);
      block.exposedViews++;
      this.collected.register(values, { block, exposed: true });
    }
    this.owned.delete(values.buffer);
  }

  /** The live heap block a view lies in (the block's own view, or a subarray of it), if any. */
  private blockOf(values: Float32Array): HeapBlock | undefined {
    if (this.heap === null || values.buffer !== this.heap) return undefined;
    const own = this.blocks.get(values.byteOffset);
    if (own) return own;
    for (const b of this.blocks.values()) if (values.byteOffset >= b.offset && values.byteOffset < b.offset + b.bytes) return b;
    return undefined;
  }

  /** Returns a block to the heap once no tensor uses it and no view handed to user code is alive. */
  private freeIfUnused(block: HeapBlock): void {
    if (block.refs > 0 || block.exposedViews > 0 || this.blocks.get(block.offset) !== block) return;
    this.blocks.delete(block.offset);
    this.addon.heapFree!(block.offset);
  }
}
