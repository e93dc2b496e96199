// Built-in generated dataset: one shape per image on a cluttered background, random colour/position/scale, with its box.
import { UserError } from '../errors.js';
import { deriveSeed, Rng } from '../util/rng.js';
import type { DataConfig } from '../config/schema.js';
import { SHAPES, type PatternParams } from './shapes.js';
import type { Dataset, ImageSet } from './types.js';

/** Knobs of the generator, all as fractions of the image side unless said otherwise. */
const GEN = {
  /** Object size (side of its unrotated box) range. */
  minScale: 0.32,
  maxScale: 0.6,
  /** Per-axis aspect jitter of the box (+-). */
  aspectJitter: 0.15,
  /** Rotation range, radians (+-); small enough that square and diamond stay distinct. */
  maxRotation: (20 * Math.PI) / 180,
  /** Background distractors: soft blobs and thin lines (counts, inclusive ranges). */
  blobs: [1, 3] as const,
  lines: [1, 3] as const,
  /** Per-pixel uniform noise amplitude, grey levels (+-). */
  noise: 18,
  /** Minimum RGB distance between the object paint and the background under it. */
  minContrast: 90,
  /** Supersampling per axis for anti-aliased shape edges (2 -> 4 samples per pixel). */
  supersample: 2,
  /** A pixel belongs to the box when this fraction of it is covered by the object. */
  boxCoverage: 0.5,
};

export interface SyntheticOptions {
  /** Number of classes (first k of SHAPES). */
  classes: number;
  n: number;
  /** Image side in pixels. */
  size: number;
  seed: number | string;
  /** 'train' and 'test' draw from disjoint seed streams. */
  split: string;
  /** Scales distractor counts and pixel noise: 1 = the full clutter, 0 = a plain gradient (easy). Default 1. */
  clutter?: number;
}

export const SYNTHETIC_CLASS_NAMES: readonly string[] = SHAPES.map((s) => s.name);

type RGB = [number, number, number];

function randomColour(rng: Rng): RGB {
  return [rng.next() * 255, rng.next() * 255, rng.next() * 255];
}

function colourDistance(a: RGB, b: RGB): number {
  return Math.sqrt((a[0] - b[0]) ** 2 + (a[1] - b[1]) ** 2 + (a[2] - b[2]) ** 2);
}

/** A colour at least `min` away from `ref` (best of a few draws), so the object is visible but its hue is random. */
function contrastingColour(rng: Rng, ref: RGB, min: number): RGB {
  let best = randomColour(rng);
  for (let k = 0; k < 12 && colourDistance(best, ref) < min; k++) {
    const c = randomColour(rng);
    if (colourDistance(c, ref) > colourDistance(best, ref)) best = c;
  }
  return best;
}

const uniform = (rng: Rng, lo: number, hi: number): number => lo + (hi - lo) * rng.next();
const intIn = (rng: Rng, range: readonly [number, number]): number => range[0] + rng.int(range[1] - range[0] + 1);

/** Background: a two-colour linear gradient, then soft blobs and thin lines. Writes RGB floats [s, s, 3]. */
function paintBackground(rng: Rng, px: Float32Array, s: number, clutter: number): void {
  const c1 = randomColour(rng);
  const c2 = randomColour(rng);
  const dir = rng.next() * 2 * Math.PI;
  const dx = Math.cos(dir);
  const dy = Math.sin(dir);
  for (let y = 0; y < s; y++) {
    for (let x = 0; x < s; x++) {
      const t = 0.5 + (((x + 0.5) / s - 0.5) * dx + ((y + 0.5) / s - 0.5) * dy) * 0.7;
      const o = (y * s + x) * 3;
      for (let c = 0; c < 3; c++) px[o + c] = c1[c] + (c2[c] - c1[c]) * t;
    }
  }
  // Soft blobs: Gaussian falloff, no crisp edge, so they cannot pass for an object.
  const nBlobs = Math.round(intIn(rng, GEN.blobs) * clutter);
  for (let b = 0; b < nBlobs; b++) {
    const cx = rng.next() * s;
    const cy = rng.next() * s;
    const sigma = uniform(rng, 0.06, 0.18) * s;
    const alpha = uniform(rng, 0.4, 0.85);
    const col = randomColour(rng);
    // Beyond 3 sigma the blob's weight is below alpha * 0.011: skip those pixels.
    const r = 3 * sigma;
    for (let y = Math.max(0, Math.floor(cy - r)); y < Math.min(s, Math.ceil(cy + r)); y++) {
      for (let x = Math.max(0, Math.floor(cx - r)); x < Math.min(s, Math.ceil(cx + r)); x++) {
        const d2 = (x + 0.5 - cx) ** 2 + (y + 0.5 - cy) ** 2;
        const a = alpha * Math.exp(-d2 / (2 * sigma * sigma));
        if (a < 0.01) continue;
        const o = (y * s + x) * 3;
        for (let c = 0; c < 3; c++) px[o + c] += (col[c] - px[o + c]) * a;
      }
    }
  }
  // Thin straight lines anywhere (they may run under the object).
  const nLines = Math.round(intIn(rng, GEN.lines) * clutter);
  for (let l = 0; l < nLines; l++) {
    const x0 = rng.next() * s;
    const y0 = rng.next() * s;
    const x1 = rng.next() * s;
    const y1 = rng.next() * s;
    const half = uniform(rng, 0.35, 0.9);
    const col = randomColour(rng);
    const vx = x1 - x0;
    const vy = y1 - y0;
    const len2 = Math.max(vx * vx + vy * vy, 1e-6);
    const pad = half + 1;
    for (let y = Math.max(0, Math.floor(Math.min(y0, y1) - pad)); y < Math.min(s, Math.ceil(Math.max(y0, y1) + pad)); y++) {
      for (let x = Math.max(0, Math.floor(Math.min(x0, x1) - pad)); x < Math.min(s, Math.ceil(Math.max(x0, x1) + pad)); x++) {
        const t = Math.min(1, Math.max(0, ((x + 0.5 - x0) * vx + (y + 0.5 - y0) * vy) / len2));
        const ex = x + 0.5 - (x0 + t * vx);
        const ey = y + 0.5 - (y0 + t * vy);
        const d = Math.sqrt(ex * ex + ey * ey);
        const a = Math.min(1, Math.max(0, half + 0.5 - d));
        if (a <= 0) continue;
        const o = (y * s + x) * 3;
        for (let c = 0; c < 3; c++) px[o + c] += (col[c] - px[o + c]) * a;
      }
    }
  }
}

/** Mean background colour inside a pixel rectangle (for choosing a contrasting object paint). */
function meanColour(px: Float32Array, s: number, x0: number, y0: number, x1: number, y1: number): RGB {
  const m: RGB = [0, 0, 0];
  let k = 0;
  for (let y = Math.max(0, y0); y < Math.min(s, y1); y++) {
    for (let x = Math.max(0, x0); x < Math.min(s, x1); x++) {
      const o = (y * s + x) * 3;
      for (let c = 0; c < 3; c++) m[c] += px[o + c];
      k++;
    }
  }
  return k > 0 ? [m[0] / k, m[1] / k, m[2] / k] : m;
}

/** Draws one object of class `label`; returns its box [x0, y0, x1, y1] (x1, y1 exclusive). */
function paintObject(rng: Rng, px: Float32Array, s: number, label: number): [number, number, number, number] {
  const size = uniform(rng, GEN.minScale, GEN.maxScale) * s;
  const hw = (size / 2) * (1 + uniform(rng, -GEN.aspectJitter, GEN.aspectJitter));
  const hh = (size / 2) * (1 + uniform(rng, -GEN.aspectJitter, GEN.aspectJitter));
  const theta = uniform(rng, -GEN.maxRotation, GEN.maxRotation);
  const cos = Math.cos(theta);
  const sin = Math.sin(theta);
  // Extent of the rotated box, so the whole object stays inside the image.
  const ex = Math.abs(cos) * hw + Math.abs(sin) * hh;
  const ey = Math.abs(sin) * hw + Math.abs(cos) * hh;
  const cx = uniform(rng, ex, s - ex);
  const cy = uniform(rng, ey, s - ey);
  const pattern: PatternParams = {
    angle: rng.next() * Math.PI,
    frequency: uniform(rng, 1.5, 2.5),
    checks: 3 + rng.int(2),
  };
  const bx0 = Math.floor(cx - ex);
  const by0 = Math.floor(cy - ey);
  const bx1 = Math.ceil(cx + ex);
  const by1 = Math.ceil(cy + ey);
  const under = meanColour(px, s, bx0, by0, bx1, by1);
  const paint1 = contrastingColour(rng, under, GEN.minContrast);
  const paint2 = contrastingColour(rng, paint1, GEN.minContrast);
  const test = SHAPES[label].test;
  const ss = GEN.supersample;
  let x0 = s;
  let y0 = s;
  let x1 = 0;
  let y1 = 0;
  const acc: RGB = [0, 0, 0];
  for (let y = Math.max(0, by0); y < Math.min(s, by1); y++) {
    for (let x = Math.max(0, bx0); x < Math.min(s, bx1); x++) {
      let covered = 0;
      acc[0] = acc[1] = acc[2] = 0;
      for (let sy = 0; sy < ss; sy++) {
        for (let sx = 0; sx < ss; sx++) {
          // Sample point relative to the centre, rotated back into the object's frame, scaled to the unit box.
          const qx = x + (sx + 0.5) / ss - cx;
          const qy = y + (sy + 0.5) / ss - cy;
          const u = (cos * qx + sin * qy) / hw;
          const v = (-sin * qx + cos * qy) / hh;
          const which = test(u, v, pattern);
          if (which === 0) continue;
          const p = which === 1 ? paint1 : paint2;
          acc[0] += p[0];
          acc[1] += p[1];
          acc[2] += p[2];
          covered++;
        }
      }
      if (covered === 0) continue;
      const a = covered / (ss * ss);
      const o = (y * s + x) * 3;
      for (let c = 0; c < 3; c++) px[o + c] = px[o + c] * (1 - a) + acc[c] / (ss * ss);
      if (a >= GEN.boxCoverage) {
        x0 = Math.min(x0, x);
        y0 = Math.min(y0, y);
        x1 = Math.max(x1, x + 1);
        y1 = Math.max(y1, y + 1);
      }
    }
  }
  if (x1 <= x0 || y1 <= y0) return [Math.max(0, bx0), Math.max(0, by0), Math.min(s, bx1), Math.min(s, by1)];
  return [x0, y0, x1, y1];
}

/**
 * Generates `n` images. Image i depends only on (seed, split, i), so a larger set starts with the same images.
 * Labels are balanced: every block of `classes` consecutive images holds each class once, in a random order.
 */
export function generateSynthetic(opts: SyntheticOptions): ImageSet {
  const { n, size: s, classes } = opts;
  const clutter = opts.clutter ?? 1;
  const noise = GEN.noise * clutter;
  if (classes < 2 || classes > SHAPES.length) throw new RangeError(`synthetic classes must be 2..${SHAPES.length}`);
  const images = new Uint8Array(n * s * s * 3);
  const labels = new Int32Array(n);
  const boxes = new Float32Array(n * 4);
  const px = new Float32Array(s * s * 3);
  let block: Int32Array = new Int32Array(0);
  for (let i = 0; i < n; i++) {
    if (i % classes === 0) block = new Rng(deriveSeed(opts.seed, 'synthetic', opts.split, 'labels', i / classes)).permutation(classes);
    const label = block[i % classes];
    const rng = new Rng(deriveSeed(opts.seed, 'synthetic', opts.split, i));
    paintBackground(rng, px, s, clutter);
    const box = paintObject(rng, px, s, label);
    const out = i * s * s * 3;
    for (let k = 0; k < px.length; k++) {
      const v = px[k] + (rng.next() * 2 - 1) * noise;
      images[out + k] = v <= 0 ? 0 : v >= 255 ? 255 : Math.round(v);
    }
    labels[i] = label;
    boxes.set(box, i * 4);
  }
  return { images, labels, n, height: s, width: s, channels: 3, boxes };
}

/** Largest generated set, in bytes of uint8 pixels (keeps a typo in the config from exhausting memory). */
export const MAX_SYNTHETIC_BYTES = 2 * 2 ** 30;

/** The `synthetic` dataset of a config: train and test from disjoint seed streams. */
export function syntheticDataset(cfg: DataConfig['synthetic'], seed: number): Dataset {
  for (const key of ['trainSize', 'testSize'] as const) {
    const bytes = cfg[key] * cfg.imageSize * cfg.imageSize * 3;
    if (bytes > MAX_SYNTHETIC_BYTES) {
      throw new UserError(
        `data.synthetic.${key}: ${cfg[key]} images of ${cfg.imageSize}x${cfg.imageSize}x3 need ${(bytes / 2 ** 30).toFixed(1)} GiB; ` +
          `at most ${MAX_SYNTHETIC_BYTES / 2 ** 30} GiB per set (lower ${key} or data.synthetic.imageSize)`,
      );
    }
  }
  const common = { classes: cfg.classes, size: cfg.imageSize, seed, clutter: cfg.clutter };
  return {
    name: 'synthetic',
    classNames: SYNTHETIC_CLASS_NAMES.slice(0, cfg.classes),
    train: generateSynthetic({ ...common, n: cfg.trainSize, split: 'train' }),
    test: generateSynthetic({ ...common, n: cfg.testSize, split: 'test' }),
  };
}
