// Localization score (Zhou et al.'s protocol) of a model's CAMs on a set with boxes, beside a central-box baseline.
import * as tf from '@tensorflow/tfjs';
import type { Preprocessor } from '../data/preprocess.js';
import type { ImageSet } from '../data/types.js';
import { UserError } from '../errors.js';
import {
  boxAt, centralBox, DEFAULT_CONNECTIVITY, iou, IOU_CORRECT, mapToBox, type Box, type BoxOptions,
} from './boxes.js';
import type { CamExtractor, CamMethod } from './extractor.js';

/** One image's outcome. */
export interface LocalizationRecord {
  index: number;
  label: number;
  predicted: number;
  /** Softmax probability of the predicted class. */
  probability: number;
  truth: Box;
  /** Box from the predicted class's map and its IoU with the truth (no box: IoU 0). */
  predictedBox?: Box;
  predictedIou: number;
  /** Box from the true class's map. */
  trueClassBox?: Box;
  trueClassIou: number;
  /** IoU of the box at each of SWEEP_THRESHOLDS, from the predicted class's map and from the true class's map. */
  sweep?: { predictedIou: Float64Array; trueClassIou: Float64Array };
}

export interface Accuracy {
  /** Fraction of images counted correct. */
  accuracy: number;
  /** Mean IoU with the ground-truth box (0 where no box was found). */
  meanIou: number;
}

export interface BaselineScore {
  /** Side of the central box as a fraction of the image's width and height. */
  fraction: number;
  /** IoU >= 0.5 with the truth (class-agnostic: compare with `trueClass`). */
  trueClass: Accuracy;
  /** Model's top-1 class correct and central box IoU >= 0.5 (compare with `top1`). */
  top1: Accuracy;
}

export interface LocalizationScore {
  method: CamMethod;
  images: number;
  /** Top-1 classification accuracy on these images. */
  classification: number;
  /** ILSVRC top-1 localization: the predicted class is right and its map's box has IoU >= 0.5. */
  top1: Accuracy;
  /** Ground-truth-class localization: the true class's map gives a box with IoU >= 0.5, whatever was predicted. */
  trueClass: Accuracy;
  /** Images whose map gave no box (no positive value). */
  noBox: number;
  baseline: {
    /** The central box with the best class-agnostic accuracy among fractions 0.05..1 (chosen on these images). */
    best: BaselineScore;
    /** A fixed central box of half the width and height. */
    fixed: BaselineScore;
  };
  /** The same scores at every threshold of SWEEP_THRESHOLDS (present when the records carry sweep IoUs). */
  sweep?: {
    points: SweepPoint[];
    /**
     * The threshold with the best true-class accuracy (first on ties), chosen on these same images: optimistic, like
     * the best central box, and the number Choe et al. (CVPR 2020) call MaxBoxAcc. It says how much a better cut-off
     * would recover; the fixed-threshold scores above stay the protocol's.
     */
    best: SweepPoint;
  };
}

/** Localization at one box threshold. */
export interface SweepPoint {
  threshold: number;
  top1: Accuracy;
  trueClass: Accuracy;
}

export const BASELINE_FRACTIONS = Array.from({ length: 20 }, (_, i) => (i + 1) / 20);
export const FIXED_BASELINE_FRACTION = 0.5;
/** Box thresholds of the sweep: 0.05, 0.10, ..., 0.95 of the map's maximum. */
export const SWEEP_THRESHOLDS = Array.from({ length: 19 }, (_, i) => (i + 1) / 20);

/** The protocol's constants, recorded with every score (with the threshold used; the paper's is DEFAULT_THRESHOLD). */
export const PROTOCOL = {
  thresholdRule: 'pixels with value > threshold * max(map) of the map upsampled bilinearly to the input size',
  connectivity: DEFAULT_CONNECTIVITY,
  component: 'largest by pixel count (ties: larger sum of map values, then first in raster order)',
  iouCorrect: IOU_CORRECT,
  boxes: '[x0, y0, x1, y1] in input pixels, x1 and y1 exclusive',
  baseline: 'central box of fraction f of width and height; best f over 0.05..1 chosen on the evaluated images, and f = 0.5',
  sweep: 'the same scores at thresholds 0.05..0.95; best = highest true-class accuracy, chosen on the evaluated images',
} as const;

function accuracy(correct: boolean[], ious: number[]): Accuracy {
  const n = correct.length;
  return {
    accuracy: n ? correct.filter(Boolean).length / n : 0,
    meanIou: n ? ious.reduce((a, b) => a + b, 0) / n : 0,
  };
}

function baselineAt(records: LocalizationRecord[], h: number, w: number, fraction: number): BaselineScore {
  const box = centralBox(h, w, fraction);
  const ious = records.map((r) => iou(box, r.truth));
  return {
    fraction,
    trueClass: accuracy(ious.map((v) => v >= IOU_CORRECT), ious),
    top1: accuracy(records.map((r, i) => r.predicted === r.label && ious[i] >= IOU_CORRECT), ious),
  };
}

/**
 * IoU with `truth` of the box of `map` at each threshold (0 where there is no box). One map, [h*w] row-major.
 */
export function sweepIous(
  map: ArrayLike<number>, h: number, w: number, truth: Box, thresholds: readonly number[], box: BoxOptions = {},
): Float64Array {
  return Float64Array.from(thresholds, (t) => iou(mapToBox(map, h, w, { ...box, threshold: t }), truth));
}

function sweepSummary(records: LocalizationRecord[]): LocalizationScore['sweep'] {
  if (!records.length || !records.every((r) => r.sweep)) return undefined;
  const points = SWEEP_THRESHOLDS.map((threshold, k): SweepPoint => {
    const pred = records.map((r) => r.sweep!.predictedIou[k]);
    const truth = records.map((r) => r.sweep!.trueClassIou[k]);
    return {
      threshold,
      top1: accuracy(records.map((r, i) => r.predicted === r.label && pred[i] >= IOU_CORRECT), pred),
      trueClass: accuracy(truth.map((v) => v >= IOU_CORRECT), truth),
    };
  });
  const best = points.reduce((a, b) => (b.trueClass.accuracy > a.trueClass.accuracy ? b : a));
  return { points, best };
}

/** Accuracies of a set of records (images of size h x w). */
export function summarize(method: CamMethod, records: LocalizationRecord[], h: number, w: number): LocalizationScore {
  const baselines = BASELINE_FRACTIONS.map((f) => baselineAt(records, h, w, f));
  const best = baselines.reduce((a, b) => (b.trueClass.accuracy > a.trueClass.accuracy ? b : a));
  const sweep = sweepSummary(records);
  return {
    method,
    images: records.length,
    classification: records.length ? records.filter((r) => r.predicted === r.label).length / records.length : 0,
    top1: accuracy(
      records.map((r) => r.predicted === r.label && r.predictedIou >= IOU_CORRECT),
      records.map((r) => r.predictedIou),
    ),
    trueClass: accuracy(records.map((r) => r.trueClassIou >= IOU_CORRECT), records.map((r) => r.trueClassIou)),
    noBox: records.filter((r) => !r.predictedBox).length,
    baseline: { best, fixed: baselineAt(records, h, w, FIXED_BASELINE_FRACTION) },
    ...(sweep ? { sweep } : {}),
  };
}

export interface ScoreOptions {
  batchSize?: number;
  box?: BoxOptions;
}

/** Runs the model over every image of `set` (which must have boxes) and scores its maps. */
export async function scoreLocalization(
  ex: CamExtractor,
  set: ImageSet,
  pre: Preprocessor,
  method: CamMethod,
  opts: ScoreOptions = {},
): Promise<{ records: LocalizationRecord[]; score: LocalizationScore }> {
  const boxes = set.boxes;
  if (!boxes) throw new UserError('localization needs ground-truth boxes; only the built-in synthetic dataset has them');
  const { height: h, width: w, channels: c } = set;
  const bs = opts.batchSize ?? 128;
  const size = h * w * c;
  const hw = h * w;
  const records: LocalizationRecord[] = [];
  for (let start = 0; start < set.n; start += bs) {
    const m = Math.min(bs, set.n - start);
    const x = tf.tensor4d(pre.toFloat(set.images.subarray(start * size, (start + m) * size), m, h, w, c), [m, h, w, c]);
    const labels = set.labels.subarray(start, start + m);
    let out;
    try {
      out = await ex.analyze(x, [labels], method);
    } finally {
      x.dispose();
    }
    const C = out.probs.length / m;
    for (let i = 0; i < m; i++) {
      const truth = boxAt(boxes, start + i);
      const predictedMap = out.maps[0].subarray(i * hw, (i + 1) * hw);
      const trueClassMap = out.maps[1].subarray(i * hw, (i + 1) * hw);
      const predictedBox = mapToBox(predictedMap, h, w, opts.box);
      const trueClassBox = mapToBox(trueClassMap, h, w, opts.box);
      records.push({
        index: start + i,
        label: labels[i],
        predicted: out.predicted[i],
        probability: out.probs[i * C + out.predicted[i]],
        truth,
        ...(predictedBox ? { predictedBox } : {}),
        predictedIou: iou(predictedBox, truth),
        ...(trueClassBox ? { trueClassBox } : {}),
        trueClassIou: iou(trueClassBox, truth),
        sweep: {
          predictedIou: sweepIous(predictedMap, h, w, truth, SWEEP_THRESHOLDS, opts.box),
          trueClassIou: sweepIous(trueClassMap, h, w, truth, SWEEP_THRESHOLDS, opts.box),
        },
      });
    }
  }
  return { records, score: summarize(method, records, h, w) };
}
