// MNIST-family IDX reader (gzipped or plain): validates magic, dimensions and exact size; images become NHWC [n, h, w, 1].
import * as path from 'node:path';
import { LIMITS } from '../config/schema.js';
import { UserError } from '../errors.js';
import { isFile, maybeGunzip, readDataFile } from './files.js';
import type { ImageSet } from './types.js';

/** A parsed IDX array: its dimensions and its unsigned-byte payload. */
export interface IdxArray {
  dims: number[];
  data: Uint8Array;
}

/** The unsigned-byte type code of the IDX format (the only one MNIST-family files use). */
const UBYTE = 0x08;

/**
 * Parses IDX bytes (gunzipped first when they start with the gzip magic). `ndim` is what the caller expects:
 * 3 for images [n, rows, cols], 1 for labels [n]. Sizes are checked against the header before anything is allocated.
 */
export function parseIdx(raw: Uint8Array, file: string, ndim: 1 | 3): IdxArray {
  const what = ndim === 3 ? 'an IDX image file (magic 00 00 08 03, then n, rows, cols)' : 'an IDX label file (magic 00 00 08 01, then n)';
  if (raw.length === 0) throw new UserError(`${file}: empty file; expected ${what}`);
  const buf = maybeGunzip(raw, file);
  if (buf.length < 4) throw new UserError(`${file}: ${buf.length} bytes is too short for an IDX header; expected ${what}`);
  if (buf[0] !== 0 || buf[1] !== 0 || buf[2] !== UBYTE || buf[3] !== ndim) {
    const magic = Array.from(buf.subarray(0, 4), (b) => b.toString(16).padStart(2, '0')).join(' ');
    throw new UserError(`${file}: wrong magic number ${magic}; expected ${what}`);
  }
  const header = 4 + 4 * ndim;
  if (buf.length < header) throw new UserError(`${file}: truncated header (${buf.length} bytes); expected ${what}`);
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const dims: number[] = [];
  for (let d = 0; d < ndim; d++) dims.push(view.getUint32(4 + 4 * d, false));
  const [n, rows, cols] = dims;
  if (n === 0 || n > LIMITS.datasetSize) {
    throw new UserError(`${file}: header says ${n} items; expected 1..${LIMITS.datasetSize}`);
  }
  if (ndim === 3 && (rows === 0 || cols === 0 || rows > LIMITS.imageSize || cols > LIMITS.imageSize)) {
    throw new UserError(`${file}: header says ${rows}x${cols} images; expected sides 1..${LIMITS.imageSize}`);
  }
  const expectedBytes = header + dims.reduce((a, b) => a * b, 1);
  if (buf.length < expectedBytes) {
    throw new UserError(`${file}: truncated: ${buf.length} bytes, but the header [${dims.join(', ')}] needs ${expectedBytes}`);
  }
  if (buf.length > expectedBytes) {
    throw new UserError(`${file}: wrong size: ${buf.length} bytes, but the header [${dims.join(', ')}] needs exactly ${expectedBytes}`);
  }
  return { dims, data: buf.subarray(header) };
}

/** Joins an IDX image file and its label file into one set; counts must match and labels lie in [0, classes). */
export function idxToSet(images: IdxArray, labels: IdxArray, imageFile: string, labelFile: string, classes: number): ImageSet {
  const [n, rows, cols] = images.dims;
  if (labels.dims[0] !== n) {
    throw new UserError(`${labelFile}: ${labels.dims[0]} labels, but ${imageFile} has ${n} images; expected equal counts`);
  }
  const lab = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const v = labels.data[i];
    if (v >= classes) throw new UserError(`${labelFile}: label ${i} is ${v}; expected 0..${classes - 1}`);
    lab[i] = v;
  }
  // Copy so the set owns exactly its pixels (the parsed view may sit inside a larger decompressed buffer).
  return { images: images.data.slice(), labels: lab, n, height: rows, width: cols, channels: 1 };
}

/** The four files of an MNIST-family dataset, as published. */
export const IDX_FILES = {
  trainImages: 'train-images-idx3-ubyte',
  trainLabels: 'train-labels-idx1-ubyte',
  testImages: 't10k-images-idx3-ubyte',
  testLabels: 't10k-labels-idx1-ubyte',
} as const;

/** The path of `base` or `base.gz` in `folder`, preferring the uncompressed file; undefined when neither exists. */
export function idxPath(folder: string, base: string): string | undefined {
  for (const name of [base, `${base}.gz`]) {
    const p = path.join(folder, name);
    if (isFile(p)) return p;
  }
  return undefined;
}

/** True when a folder holds any of the four files (plain or gzipped). */
export function hasIdxFiles(folder: string): boolean {
  return Object.values(IDX_FILES).some((b) => idxPath(folder, b) !== undefined);
}

/** Reads the train and test sets of an MNIST-family folder; a missing file is a UserError naming it. */
export function readIdxFolder(folder: string, classes: number): { train: ImageSet; test: ImageSet } {
  const load = (imgBase: string, labBase: string): ImageSet => {
    const imgFile = idxPath(folder, imgBase) ?? path.join(folder, `${imgBase}.gz`);
    const labFile = idxPath(folder, labBase) ?? path.join(folder, `${labBase}.gz`);
    const img = parseIdx(readDataFile(imgFile, `${imgBase} or ${imgBase}.gz (IDX images)`), imgFile, 3);
    const lab = parseIdx(readDataFile(labFile, `${labBase} or ${labBase}.gz (IDX labels)`), labFile, 1);
    return idxToSet(img, lab, imgFile, labFile, classes);
  };
  return {
    train: load(IDX_FILES.trainImages, IDX_FILES.trainLabels),
    test: load(IDX_FILES.testImages, IDX_FILES.testLabels),
  };
}
