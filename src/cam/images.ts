// CAM figures for a batch of images: one PNG per image, a grid PNG of all, and a CSV of per-image results.
import fs from 'node:fs';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { createObjectCsvWriter } from 'csv-writer';
import { writeFileAtomic } from '../io/durable-write.js';
import type { Preprocessor } from '../data/preprocess.js';
import { boxAt, iou, IOU_CORRECT, mapToBox, type Box } from './boxes.js';
import type { CamExtractor, CamMethod } from './extractor.js';
import { camFigure, gridFigure } from './figure.js';

/** Images to explain: uint8 NHWC pixels with optional labels and boxes, and a name per image. */
export interface ImageBatch {
  images: Uint8Array;
  n: number;
  height: number;
  width: number;
  channels: number;
  /** True class per image, when known. */
  labels?: Int32Array;
  /** Ground-truth boxes [x0,y0,x1,y1] x n, when known. */
  boxes?: Float32Array;
  /** Where each image came from (test index or file path), for the CSV. */
  sources: string[];
}

export interface CamImageResult {
  index: number;
  source: string;
  /** Class names (undefined when the true class is unknown). */
  trueClass?: string;
  predicted: string;
  probability: number;
  /** The class whose map is drawn (the predicted one unless a class was asked for). */
  shownClass: string;
  box?: Box;
  truthBox?: Box;
  /** IoU of `box` with `truthBox` (when there is a truth box). */
  iou?: number;
  correct?: boolean;
  /** IoU >= 0.5 (when there is a truth box). */
  localized?: boolean;
  png: string;
}

export interface FigureOptions {
  method: CamMethod;
  classNames: string[];
  /** Draw this class's map for every image instead of the predicted class's. */
  shownClass?: number;
  /** Upscaling of the per-image PNGs (the grid uses half of it, at least 2). */
  scale: number;
  /** Box threshold as a fraction of the map's maximum. */
  threshold: number;
  /** Files are named <outDir>/<prefix>-grid.png, <prefix>.csv and <prefix>/NNNN.png. */
  outDir: string;
  prefix: string;
}

export interface FiguresWritten {
  results: CamImageResult[];
  gridPng: string;
  csv: string;
}

/** Grid columns: 4 figures across (fewer when there are fewer images). */
const GRID_COLUMNS = 4;

export async function writeCamFigures(
  ex: CamExtractor,
  batch: ImageBatch,
  pre: Preprocessor,
  opts: FigureOptions,
): Promise<FiguresWritten> {
  const { n, height: h, width: w, channels: c } = batch;
  const names = opts.classNames;
  const x = tf.tensor4d(pre.toFloat(batch.images, n, h, w, c), [n, h, w, c]);
  const sets = opts.shownClass === undefined ? [] : [new Int32Array(n).fill(opts.shownClass)];
  let out;
  try {
    out = await ex.analyze(x, sets, opts.method);
  } finally {
    x.dispose();
  }
  const maps = out.maps[sets.length ? 1 : 0];
  const C = names.length;
  const imgDir = path.join(opts.outDir, opts.prefix);
  fs.mkdirSync(imgDir, { recursive: true });
  const results: CamImageResult[] = [];
  const cells = [];
  const gridScale = Math.max(2, Math.floor(opts.scale / 2));
  for (let i = 0; i < n; i++) {
    const pred = out.predicted[i];
    const shown = opts.shownClass ?? pred;
    const map = maps.subarray(i * h * w, (i + 1) * h * w);
    const box = mapToBox(map, h, w, { threshold: opts.threshold });
    const truthBox = batch.boxes ? boxAt(batch.boxes, i) : undefined;
    const label = batch.labels?.[i];
    const score = truthBox ? iou(box, truthBox) : undefined;
    const probability = out.probs[i * C + pred];
    const png = path.join(imgDir, `${String(i).padStart(4, '0')}.png`);
    const title = [
      `pred ${names[pred]} ${(100 * probability).toFixed(0)}%` + (label === undefined ? '' : `  true ${names[label]}`),
      `${opts.method === 'cam' ? 'CAM' : 'Grad-CAM'} of ${names[shown]}` + (score === undefined ? '' : `  IoU ${score.toFixed(2)}`),
    ];
    const image = batch.images.subarray(i * h * w * c, (i + 1) * h * w * c);
    const fig = { image, height: h, width: w, channels: c, map, title, ...(box ? { camBox: box } : {}), ...(truthBox ? { trueBox: truthBox } : {}) };
    writeFileAtomic(png, camFigure(fig, opts.scale).toPng());
    cells.push(camFigure(fig, gridScale));
    results.push({
      index: i,
      source: batch.sources[i],
      ...(label === undefined ? {} : { trueClass: names[label], correct: label === pred }),
      predicted: names[pred],
      probability,
      shownClass: names[shown],
      ...(box ? { box } : {}),
      ...(truthBox ? { truthBox, iou: score, localized: (score ?? 0) >= IOU_CORRECT } : {}),
      png,
    });
  }
  const gridPng = path.join(opts.outDir, `${opts.prefix}-grid.png`);
  writeFileAtomic(gridPng, gridFigure(cells, GRID_COLUMNS).toPng());
  const csv = path.join(opts.outDir, `${opts.prefix}.csv`);
  await writeResultsCsv(csv, results, opts.method);
  return { results, gridPng, csv };
}

const fmtBox = (b: Box | undefined, k: number) => (b ? b[k] : '');

async function writeResultsCsv(file: string, results: CamImageResult[], method: CamMethod): Promise<void> {
  const cols = [
    'index', 'source', 'true', 'predicted', 'probability', 'correct', 'method', 'shown_class',
    'box_x0', 'box_y0', 'box_x1', 'box_y1', 'truth_x0', 'truth_y0', 'truth_x1', 'truth_y1', 'iou', 'localized', 'png',
  ];
  const writer = createObjectCsvWriter({ path: file, header: cols.map((id) => ({ id, title: id })) });
  await writer.writeRecords(
    results.map((r) => ({
      index: r.index,
      source: r.source,
      true: r.trueClass ?? '',
      predicted: r.predicted,
      probability: r.probability.toFixed(6),
      correct: r.correct === undefined ? '' : Number(r.correct),
      method,
      shown_class: r.shownClass,
      box_x0: fmtBox(r.box, 0), box_y0: fmtBox(r.box, 1), box_x1: fmtBox(r.box, 2), box_y1: fmtBox(r.box, 3),
      truth_x0: fmtBox(r.truthBox, 0), truth_y0: fmtBox(r.truthBox, 1), truth_x1: fmtBox(r.truthBox, 2), truth_y1: fmtBox(r.truthBox, 3),
      iou: r.iou === undefined ? '' : r.iou.toFixed(4),
      localized: r.localized === undefined ? '' : Number(r.localized),
      png: path.basename(path.dirname(r.png)) + '/' + path.basename(r.png),
    })),
  );
}
