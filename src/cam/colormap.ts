// The jet colormap (blue -> cyan -> yellow -> red, MATLAB/matplotlib 'jet') and heat-map canvases drawn with it.
import { Canvas, type Rgb } from './canvas.js';

const clip01 = (v: number) => Math.min(1, Math.max(0, v));

/** Jet colour of v in [0, 1] (values outside are clipped): the piecewise-linear MATLAB definition. */
export function jet(v: number): Rgb {
  const x = clip01(Number.isFinite(v) ? v : 0);
  const ch = (centre: number) => Math.round(255 * clip01(1.5 - Math.abs(4 * x - centre)));
  return [ch(3), ch(2), ch(1)];
}

/**
 * Min-max normalizes a map to [0, 1] for display (as Zhou et al.'s code does before colouring); a constant map
 * becomes all zeros. `map` is [n] values; returns a new array.
 */
export function normalizeForDisplay(map: ArrayLike<number>): Float32Array {
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < map.length; i++) {
    if (map[i] < lo) lo = map[i];
    if (map[i] > hi) hi = map[i];
  }
  const out = new Float32Array(map.length);
  const range = hi - lo;
  if (range > 0 && Number.isFinite(range)) for (let i = 0; i < map.length; i++) out[i] = (map[i] - lo) / range;
  return out;
}

/** Jet canvas of a [height*width] map, min-max normalized, each value drawn as a `scale` x `scale` block. */
export function heatCanvas(map: ArrayLike<number>, height: number, width: number, scale: number): Canvas {
  const norm = normalizeForDisplay(map);
  const out = new Canvas(width * scale, height * scale);
  for (let y = 0; y < height * scale; y++) {
    for (let x = 0; x < width * scale; x++) out.setPixel(x, y, jet(norm[Math.floor(y / scale) * width + Math.floor(x / scale)]));
  }
  return out;
}
