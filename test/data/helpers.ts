// Test helpers: write small CIFAR / IDX files with known pixels into temp folders.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { Rng } from '../../src/util/rng.js';

export function tempDir(prefix = 'gaplab-data-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

export function removeDir(dir: string): void {
  fs.rmSync(dir, { recursive: true, force: true });
}

/** A CIFAR-style record set: labels (1 or 2 bytes per record) and random planar pixels, plus the NHWC we expect back. */
export interface CifarRecords {
  bytes: Buffer;
  /** Expected NHWC pixels. */
  nhwc: Uint8Array;
  coarse: number[];
  fine: number[];
}

export function makeCifarRecords(n: number, kind: 'cifar10' | 'cifar100', seed: number): CifarRecords {
  const rng = new Rng(seed);
  const lb = kind === 'cifar10' ? 1 : 2;
  const rec = lb + 3072;
  const bytes = Buffer.alloc(n * rec);
  const nhwc = new Uint8Array(n * 3072);
  const coarse: number[] = [];
  const fine: number[] = [];
  for (let i = 0; i < n; i++) {
    const o = i * rec;
    if (kind === 'cifar10') {
      const l = rng.int(10);
      bytes[o] = l;
      fine.push(l);
      coarse.push(l);
    } else {
      const c = rng.int(20);
      const f = rng.int(100);
      bytes[o] = c;
      bytes[o + 1] = f;
      coarse.push(c);
      fine.push(f);
    }
    for (let ch = 0; ch < 3; ch++) {
      for (let p = 0; p < 1024; p++) {
        const v = rng.int(256);
        bytes[o + lb + ch * 1024 + p] = v;
        nhwc[i * 3072 + p * 3 + ch] = v;
      }
    }
  }
  return { bytes, nhwc, coarse, fine };
}

/** IDX bytes: magic 00 00 08 ndim, big-endian dims, payload. */
export function idxBytes(dims: number[], data: Uint8Array): Buffer {
  const header = Buffer.alloc(4 + 4 * dims.length);
  header[2] = 0x08;
  header[3] = dims.length;
  dims.forEach((d, k) => header.writeUInt32BE(d, 4 + 4 * k));
  return Buffer.concat([header, Buffer.from(data)]);
}

/** Writes an MNIST-style folder with n train and m test images of side `side`; returns the pixels and labels written. */
export function writeIdxFolder(
  dir: string,
  opts: { n: number; m: number; side: number; gzip: boolean; seed: number },
): { trainImages: Uint8Array; trainLabels: Uint8Array; testImages: Uint8Array; testLabels: Uint8Array } {
  const rng = new Rng(opts.seed);
  const rand = (len: number, max: number) => Uint8Array.from({ length: len }, () => rng.int(max));
  const trainImages = rand(opts.n * opts.side * opts.side, 256);
  const trainLabels = rand(opts.n, 10);
  const testImages = rand(opts.m * opts.side * opts.side, 256);
  const testLabels = rand(opts.m, 10);
  const write = (name: string, bytes: Buffer) =>
    fs.writeFileSync(path.join(dir, opts.gzip ? `${name}.gz` : name), opts.gzip ? zlib.gzipSync(bytes) : bytes);
  fs.mkdirSync(dir, { recursive: true });
  write('train-images-idx3-ubyte', idxBytes([opts.n, opts.side, opts.side], trainImages));
  write('train-labels-idx1-ubyte', idxBytes([opts.n], trainLabels));
  write('t10k-images-idx3-ubyte', idxBytes([opts.m, opts.side, opts.side], testImages));
  write('t10k-labels-idx1-ubyte', idxBytes([opts.m], testLabels));
  return { trainImages, trainLabels, testImages, testLabels };
}

/** The shared real CIFAR-10 subset: ../shared/datasets/cifar-10-subset relative to the repository root. */
export const SHARED_CIFAR_SUBSET = path.resolve(
  path.dirname(new URL(import.meta.url).pathname),
  '../..',
  '../shared/datasets/cifar-10-subset',
);
