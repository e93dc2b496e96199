// CIFAR-10/100 "binary version" reader: validates record structure and labels, converts planar RGB to NHWC uint8.
import * as path from 'node:path';
import { UserError } from '../errors.js';
import { isFile, listDir, readDataFile, readNameFile } from './files.js';
import type { ImageSet } from './types.js';

export type CifarKind = 'cifar10' | 'cifar100';

const SIDE = 32;
const PIXELS = SIDE * SIDE; // per channel
const IMAGE_BYTES = 3 * PIXELS; // 3072: 1024 R, then 1024 G, then 1024 B, each row-major

/** The file layout of each CIFAR variant, as in the official archives. */
export const CIFAR_LAYOUT = {
  cifar10: {
    title: 'CIFAR-10',
    /** Folder the official archive extracts to. */
    folder: 'cifar-10-batches-bin',
    /** 1 label byte per record. */
    labelBytes: 1,
    trainPattern: /^data_batch_(\d+)\.bin$/,
    trainDescription: 'data_batch_1.bin ... data_batch_5.bin',
    testFile: 'test_batch.bin',
    nameFiles: { fine: 'batches.meta.txt', coarse: 'batches.meta.txt' },
    classes: { fine: 10, coarse: 10 },
  },
  cifar100: {
    title: 'CIFAR-100',
    folder: 'cifar-100-binary',
    /** Coarse label byte, then fine label byte. */
    labelBytes: 2,
    trainPattern: /^train\.bin$/,
    trainDescription: 'train.bin',
    testFile: 'test.bin',
    nameFiles: { fine: 'fine_label_names.txt', coarse: 'coarse_label_names.txt' },
    classes: { fine: 100, coarse: 20 },
  },
} as const;

/** CIFAR-10's class names in label order (batches.meta.txt). */
export const CIFAR10_NAMES = ['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck'];

/**
 * Parses one CIFAR binary file. Every record's label bytes are range-checked (both of CIFAR-100's), so a
 * shifted or foreign file fails here instead of training on garbage. Returns NHWC [n, 32, 32, 3] uint8.
 */
export function parseCifar(buf: Uint8Array, file: string, kind: CifarKind, labels: 'fine' | 'coarse' = 'fine'): ImageSet {
  const layout = CIFAR_LAYOUT[kind];
  const record = layout.labelBytes + IMAGE_BYTES;
  const what =
    kind === 'cifar10'
      ? `${record}-byte CIFAR-10 records (1 label byte + 3072 pixel bytes)`
      : `${record}-byte CIFAR-100 records (coarse label byte + fine label byte + 3072 pixel bytes)`;
  if (buf.length === 0) throw new UserError(`${file}: empty file; expected ${what}`);
  if (buf.length % record !== 0) {
    throw new UserError(
      `${file}: ${buf.length} bytes is not a whole number of ${what}; the file is truncated or not a ${layout.title} binary file`,
    );
  }
  const n = buf.length / record;
  const out = new Uint8Array(n * IMAGE_BYTES);
  const lab = new Int32Array(n);
  const useByte = kind === 'cifar100' && labels === 'fine' ? 1 : 0;
  for (let i = 0; i < n; i++) {
    const off = i * record;
    if (kind === 'cifar10') {
      if (buf[off] >= 10) throw labelError(file, i, buf[off], 'label', 10);
    } else {
      if (buf[off] >= 20) throw labelError(file, i, buf[off], 'coarse label', 20);
      if (buf[off + 1] >= 100) throw labelError(file, i, buf[off + 1], 'fine label', 100);
    }
    lab[i] = buf[off + useByte];
    // Planar (C, H, W) -> interleaved (H, W, C).
    const src = off + layout.labelBytes;
    const dst = i * IMAGE_BYTES;
    for (let p = 0; p < PIXELS; p++) {
      out[dst + 3 * p] = buf[src + p];
      out[dst + 3 * p + 1] = buf[src + PIXELS + p];
      out[dst + 3 * p + 2] = buf[src + 2 * PIXELS + p];
    }
  }
  return { images: out, labels: lab, n, height: SIDE, width: SIDE, channels: 3 };
}

function labelError(file: string, record: number, value: number, which: string, classes: number): UserError {
  return new UserError(`${file}: record ${record} has ${which} ${value}; expected 0..${classes - 1}`);
}

/** Concatenates sets of equal image shape (training batches). */
export function concatSets(sets: ImageSet[]): ImageSet {
  const first = sets[0];
  const n = sets.reduce((s, x) => s + x.n, 0);
  const size = first.height * first.width * first.channels;
  const images = new Uint8Array(n * size);
  const labels = new Int32Array(n);
  let k = 0;
  for (const s of sets) {
    images.set(s.images, k * size);
    labels.set(s.labels, k);
    k += s.n;
  }
  return { images, labels, n, height: first.height, width: first.width, channels: first.channels };
}

/** Training file names present in a folder, in numeric batch order. */
export function cifarTrainFiles(folder: string, kind: CifarKind): string[] {
  const pattern = CIFAR_LAYOUT[kind].trainPattern;
  return listDir(folder)
    .filter((f) => pattern.test(f))
    .sort((a, b) => Number(pattern.exec(a)?.[1] ?? 0) - Number(pattern.exec(b)?.[1] ?? 0));
}

/** The folder among `dir` and `dir/<archive folder>` that holds any CIFAR file of this kind, if one does. */
export function findCifarFolder(dir: string, kind: CifarKind): string | undefined {
  const layout = CIFAR_LAYOUT[kind];
  for (const folder of [dir, path.join(dir, layout.folder)]) {
    if (isFile(path.join(folder, layout.testFile)) || cifarTrainFiles(folder, kind).length > 0) return folder;
  }
  return undefined;
}

/** Where the user should put the files, for error messages. */
export function cifarPlacement(dir: string, kind: CifarKind): string {
  const layout = CIFAR_LAYOUT[kind];
  const names = kind === 'cifar10' ? 'batches.meta.txt' : 'fine_label_names.txt, coarse_label_names.txt';
  return (
    `place ${layout.trainDescription} and ${layout.testFile} (${layout.title} binary version; class names in ${names}) ` +
    `in ${path.join(dir, layout.folder)} or directly in ${dir}`
  );
}

/** Reads every training file present plus the test file of one folder; class names from the names file. */
export function readCifar(
  folder: string,
  kind: CifarKind,
  labels: 'fine' | 'coarse',
  log: (line: string) => void = () => {},
): { classNames: string[]; train: ImageSet; test: ImageSet } {
  const layout = CIFAR_LAYOUT[kind];
  const trainFiles = cifarTrainFiles(folder, kind);
  if (trainFiles.length === 0) {
    throw new UserError(`${folder}: no ${layout.title} training file; expected ${layout.trainDescription}`);
  }
  const expected = `${layout.title} binary records`;
  const train = concatSets(
    trainFiles.map((f) => parseCifar(readDataFile(path.join(folder, f), expected), path.join(folder, f), kind, labels)),
  );
  const testPath = path.join(folder, layout.testFile);
  const test = parseCifar(readDataFile(testPath, expected), testPath, kind, labels);
  const classes = layout.classes[labels];
  const nameFile = path.join(folder, layout.nameFiles[labels]);
  let classNames: string[];
  if (isFile(nameFile)) {
    classNames = readNameFile(nameFile, classes);
  } else {
    classNames = kind === 'cifar10' ? [...CIFAR10_NAMES] : Array.from({ length: classes }, (_, i) => `class_${i}`);
    log(`${nameFile} not found; using ${kind === 'cifar10' ? 'the standard CIFAR-10 names' : 'generic class names'}`);
  }
  log(`${layout.title}: ${train.n} training images from ${trainFiles.join(', ')}, ${test.n} test images (${folder})`);
  return { classNames, train, test };
}
