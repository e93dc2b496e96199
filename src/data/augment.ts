// Per-batch augmentation on preprocessed floats: random crop from a zero-padded image, random horizontal flip.
import type { Rng } from '../util/rng.js';

/** What one image gets: a shift (the crop offset minus the padding) and an optional mirror. */
export interface AugmentDraw {
  /** Rows/columns the content moves by: output(y, x) = input(y + dy, x + dx), zero outside. In [-crop, crop]. */
  dy: number;
  dx: number;
  flip: boolean;
}

/**
 * Draws the augmentation of `b` images in a fixed order (per image: dy, dx when crop > 0, then flip when enabled),
 * so the same Rng state always yields the same batch.
 */
export function drawAugment(rng: Rng, b: number, crop: number, flip: boolean): AugmentDraw[] {
  const draws: AugmentDraw[] = [];
  for (let i = 0; i < b; i++) {
    const dy = crop > 0 ? rng.int(2 * crop + 1) - crop : 0;
    const dx = crop > 0 ? rng.int(2 * crop + 1) - crop : 0;
    draws.push({ dy, dx, flip: flip ? rng.next() < 0.5 : false });
  }
  return draws;
}

/**
 * Applies the draws to a float NHWC batch [b, h, w, c]: zero padding by |shift| then cropping back to h x w
 * (zero is the preprocessed value, i.e. the training mean for standardize), then the mirror. Returns a new array.
 */
export function applyAugment(x: Float32Array, b: number, h: number, w: number, c: number, draws: AugmentDraw[]): Float32Array {
  const out = new Float32Array(x.length);
  const size = h * w * c;
  for (let i = 0; i < b; i++) {
    const { dy, dx, flip } = draws[i];
    const base = i * size;
    for (let y = 0; y < h; y++) {
      const sy = y + dy;
      if (sy < 0 || sy >= h) continue;
      for (let xo = 0; xo < w; xo++) {
        // Crop first, then mirror: output column xo shows cropped column (w - 1 - xo).
        const xc = flip ? w - 1 - xo : xo;
        const sx = xc + dx;
        if (sx < 0 || sx >= w) continue;
        const src = base + (sy * w + sx) * c;
        const dst = base + (y * w + xo) * c;
        for (let k = 0; k < c; k++) out[dst + k] = x[src + k];
      }
    }
  }
  return out;
}
