// camReport: CAM figures and the localization score of one run folder (used by npm run cam and by compare's report).
import fs from 'node:fs';
import path from 'node:path';
import { createObjectCsvWriter } from 'csv-writer';
import { loadDataset } from '../data/registry.js';
import { head, type ImageSet } from '../data/types.js';
import { UserError } from '../errors.js';
import { writeJson } from '../io/durable-write.js';
import { DEFAULT_THRESHOLD, type Box } from './boxes.js';
import { CamExtractor, type CamMethod } from './extractor.js';
import { writeCamFigures, type CamImageResult, type ImageBatch } from './images.js';
import { readImageFile, toModelImage } from './image-file.js';
import {
  PROTOCOL, scoreLocalization, type LocalizationRecord, type LocalizationScore, type SweepPoint,
} from './localization.js';
import type { WeightsChoice } from '../run/files.js';
import { classIndex, openRun, type OpenedRun } from './run-folder.js';

export interface CamReportOptions {
  /** Explain the first N test images of the run's dataset (default 16; 0: no figures). Ignored with `imageFile`. */
  images?: number;
  /** Explain this PNG/JPEG instead (resized bilinearly to the input size). */
  imageFile?: string;
  /** Draw this class's map (name or index) instead of the predicted class's. */
  className?: string;
  /** Score localization on the built-in synthetic data's test set (the run must have been trained on it). */
  localization?: boolean;
  /** Method of the figures, and the only method scored when given. Default: CAM for GAP heads, else Grad-CAM;
   *  localization then scores every method that applies (CAM and Grad-CAM for GAP heads). */
  method?: CamMethod;
  /** final: model/ (default); best: model-best/. */
  weights?: WeightsChoice;
  /** Output folder (default <runDir>/cam). */
  outDir?: string;
  /** Upscaling of the per-image PNGs (default 8; the grid uses half). */
  scale?: number;
  /** Box threshold as a fraction of the map's maximum (default 0.2, the paper's); recorded in localization.json. */
  threshold?: number;
  log?: (line: string) => void;
}

/** localization.json. */
export interface LocalizationFile {
  runDir: string;
  model: { body: string; head: string };
  weights: WeightsChoice;
  dataset: { name: string; images: number; imageShape: [number, number, number] };
  /** The protocol's constants; `threshold` is the one used (0.2 unless --threshold changed it). */
  protocol: typeof PROTOCOL & { threshold: number };
  /** One score per method evaluated. */
  methods: Partial<Record<CamMethod, LocalizationScore>>;
}

export interface CamReport {
  outDir: string;
  /** Method of the figures. */
  method: CamMethod;
  /** Grid PNG of all figures, and the per-image CSV (absent when no figures were asked for). */
  gridPng?: string;
  csv?: string;
  images: CamImageResult[];
  /** Localization scores (when asked for) and where they were written. */
  localization?: LocalizationFile;
  localizationJson?: string;
}

export const DEFAULT_IMAGES = 16;
export const DEFAULT_SCALE = 8;

/** First N test images of the run's dataset, as a batch. */
function testBatch(set: ImageSet, n: number): ImageBatch {
  const s = head(set, n);
  return {
    images: s.images, n: s.n, height: s.height, width: s.width, channels: s.channels, labels: s.labels,
    ...(s.boxes ? { boxes: s.boxes } : {}),
    sources: Array.from({ length: s.n }, (_, i) => `test:${i}`),
  };
}

async function fileBatch(file: string, shape: [number, number, number]): Promise<ImageBatch> {
  const [h, w, c] = shape;
  return { images: await toModelImage(readImageFile(file), h, w, c), n: 1, height: h, width: w, channels: c, sources: [file] };
}

const safeName = (file: string) => path.basename(file).replace(/\.[^.]*$/, '').replace(/[^A-Za-z0-9._-]/g, '_') || 'image';

/** Writes the figures and (optionally) localization.json for `runDir`; see CamReportOptions. */
export async function camReport(runDir: string, opts: CamReportOptions = {}): Promise<CamReport> {
  const log = opts.log ?? (() => {});
  const nImages = opts.images ?? DEFAULT_IMAGES;
  if (!Number.isInteger(nImages) || nImages < 0) throw new UserError(`--images must be a whole number >= 0, got ${nImages}`);
  const scale = opts.scale ?? DEFAULT_SCALE;
  if (!Number.isInteger(scale) || scale < 1 || scale > 32) throw new UserError(`--scale must be a whole number from 1 to 32, got ${scale}`);
  const threshold = opts.threshold ?? DEFAULT_THRESHOLD;
  if (!(threshold >= 0 && threshold < 1)) throw new UserError(`--threshold must be in [0, 1), got ${threshold}`);
  if (opts.imageFile) readImageFile(opts.imageFile); // fail on an unreadable image before loading anything else
  const run = await openRun(runDir, opts.weights ?? 'final');
  try {
    return await reportOpened(run, opts, nImages, scale, threshold, log);
  } finally {
    run.model.dispose();
  }
}

async function reportOpened(
  run: OpenedRun, opts: CamReportOptions, nImages: number, scale: number, threshold: number, log: (line: string) => void,
): Promise<CamReport> {
  const ex = new CamExtractor(run.model);
  const method = opts.method ?? ex.defaultMethod();
  ex.checkMethod(method);
  const shownClass = opts.className === undefined ? undefined : classIndex(opts.className, run.classNames);
  if (opts.localization && run.config.data.name !== 'synthetic') {
    throw new UserError(
      `--localization needs ground-truth boxes: only the built-in synthetic dataset has them, and this run was trained on ${run.config.data.name}`,
    );
  }
  const outDir = path.resolve(opts.outDir ?? path.join(run.runDir, 'cam'));
  fs.mkdirSync(outDir, { recursive: true });
  const report: CamReport = { outDir, method, images: [] };
  const wantsTest = (!opts.imageFile && nImages > 0) || opts.localization;
  const data = wantsTest ? await loadDataset(run.config.data, run.config.seed, log) : undefined;

  const batch = opts.imageFile
    ? await fileBatch(opts.imageFile, ex.structure.inputShape)
    : nImages > 0 && data ? testBatch(data.test, nImages) : undefined;
  if (batch) {
    const prefix = `${opts.imageFile ? `file-${safeName(opts.imageFile)}` : 'test'}-${method}`;
    const figs = await writeCamFigures(ex, batch, run.pre, {
      method, classNames: run.classNames, scale, threshold, outDir, prefix, ...(shownClass === undefined ? {} : { shownClass }),
    });
    Object.assign(report, { gridPng: figs.gridPng, csv: figs.csv, images: figs.results });
    log(`${figs.results.length} figure(s): ${path.join(outDir, prefix)}/, grid ${figs.gridPng}, results ${figs.csv}`);
  }

  if (opts.localization && data) {
    const set = data.test;
    const methods: CamMethod[] = opts.method ? [opts.method] : ex.structure.cam ? ['cam', 'gradcam'] : ['gradcam'];
    const file: LocalizationFile = {
      runDir: run.runDir,
      model: { body: run.config.model.body, head: run.config.model.head },
      weights: run.weights,
      dataset: { name: data.name, images: set.n, imageShape: [set.height, set.width, set.channels] },
      protocol: { ...PROTOCOL, threshold },
      methods: {},
    };
    for (const m of methods) {
      const { records, score } = await scoreLocalization(ex, set, run.pre, m, { box: { threshold } });
      file.methods[m] = score;
      await writeLocalizationCsv(path.join(outDir, `localization-${m}.csv`), records, run.classNames);
      if (score.sweep) await writeSweepCsv(path.join(outDir, `localization-${m}-sweep.csv`), score.sweep.points);
      log(formatScore(score));
    }
    report.localizationJson = path.join(outDir, 'localization.json');
    await writeJson(report.localizationJson, file);
    report.localization = file;
    log(`localization (boxes above ${Math.round(100 * threshold)}% of each map's maximum): ${report.localizationJson}`);
  }
  return report;
}

const pct = (v: number) => `${(100 * v).toFixed(1)}%`;

/** One line per method: the numbers a person compares. */
export function formatScore(s: LocalizationScore): string {
  const b = s.baseline.best;
  return (
    `${s.method}: ${s.images} images, classification ${pct(s.classification)}; localization top-1 ${pct(s.top1.accuracy)}, ` +
    `true class ${pct(s.trueClass.accuracy)} (mean IoU ${s.trueClass.meanIou.toFixed(3)}); central-box baseline ` +
    `(best ${Math.round(100 * b.fraction)}% of the side) true class ${pct(b.trueClass.accuracy)}, top-1 ${pct(b.top1.accuracy)}` +
    (s.sweep
      ? `; best threshold ${Math.round(100 * s.sweep.best.threshold)}% (chosen on these images): true class ` +
        `${pct(s.sweep.best.trueClass.accuracy)}, top-1 ${pct(s.sweep.best.top1.accuracy)}`
      : '')
  );
}

/** localization-<method>-sweep.csv: one row per threshold. */
async function writeSweepCsv(file: string, points: SweepPoint[]): Promise<void> {
  const cols = ['threshold', 'top1_accuracy', 'top1_mean_iou', 'true_class_accuracy', 'true_class_mean_iou'];
  const writer = createObjectCsvWriter({ path: file, header: cols.map((id) => ({ id, title: id })) });
  await writer.writeRecords(
    points.map((p) => ({
      threshold: p.threshold, top1_accuracy: p.top1.accuracy.toFixed(4), top1_mean_iou: p.top1.meanIou.toFixed(4),
      true_class_accuracy: p.trueClass.accuracy.toFixed(4), true_class_mean_iou: p.trueClass.meanIou.toFixed(4),
    })),
  );
}

async function writeLocalizationCsv(file: string, records: LocalizationRecord[], names: string[]): Promise<void> {
  const boxCols = (p: string) => ['x0', 'y0', 'x1', 'y1'].map((k) => `${p}_${k}`);
  const cols = [
    'index', 'true', 'predicted', 'probability', 'correct', ...boxCols('truth'),
    ...boxCols('pred_box'), 'pred_iou', 'top1_localized', ...boxCols('true_box'), 'true_iou', 'true_localized',
  ];
  const put = (row: Record<string, string | number>, p: string, b: Box | undefined) =>
    boxCols(p).forEach((k, i) => (row[k] = b ? b[i] : ''));
  const writer = createObjectCsvWriter({ path: file, header: cols.map((id) => ({ id, title: id })) });
  await writer.writeRecords(
    records.map((r) => {
      const correct = r.predicted === r.label;
      const row: Record<string, string | number> = {
        index: r.index, true: names[r.label], predicted: names[r.predicted], probability: r.probability.toFixed(6),
        correct: Number(correct), pred_iou: r.predictedIou.toFixed(4),
        top1_localized: Number(correct && r.predictedIou >= PROTOCOL.iouCorrect),
        true_iou: r.trueClassIou.toFixed(4), true_localized: Number(r.trueClassIou >= PROTOCOL.iouCorrect),
      };
      put(row, 'truth', r.truth);
      put(row, 'pred_box', r.predictedBox);
      put(row, 'true_box', r.trueClassBox);
      return row;
    }),
  );
}
