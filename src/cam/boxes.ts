// Boxes from class activation maps (Zhou et al.'s protocol), IoU, and the central-box baseline.

/** [x0, y0, x1, y1] in pixels, x1 and y1 exclusive (the data layer's box convention). */
export type Box = [number, number, number, number];

export interface BoxOptions {
  /** Keep pixels whose value is above this fraction of the map's maximum (the paper: 0.2). */
  threshold?: number;
  /** Pixel neighbourhood of a connected component: 8 (default; diagonal neighbours join) or 4. */
  connectivity?: 4 | 8;
}

/** The paper's threshold and our stated connectivity. */
export const DEFAULT_THRESHOLD = 0.2;
export const DEFAULT_CONNECTIVITY = 8;
/** A box counts as correct localization when its IoU with the ground truth is at least this. */
export const IOU_CORRECT = 0.5;

interface Component {
  count: number;
  /** Sum of the map's values over the component (tie-break after size). */
  mass: number;
  x0: number;
  y0: number;
  x1: number;
  y1: number;
}

/**
 * The box of the largest connected component of `map > threshold * max(map)`. `map` is [height*width] row-major.
 * Ties in pixel count go to the component with the larger sum of map values, then to the one met first in raster
 * order. Returns undefined when the map has no positive maximum (all zero, all negative, empty or NaN): no box.
 */
export function mapToBox(map: ArrayLike<number>, height: number, width: number, opts: BoxOptions = {}): Box | undefined {
  const frac = opts.threshold ?? DEFAULT_THRESHOLD;
  const conn = opts.connectivity ?? DEFAULT_CONNECTIVITY;
  const size = height * width;
  if (map.length !== size) throw new Error(`mapToBox: map has ${map.length} values, expected ${height}x${width}`);
  let max = -Infinity;
  for (let i = 0; i < size; i++) if (map[i] > max) max = map[i];
  if (!(max > 0)) return undefined;
  const t = frac * max;
  const label = new Int32Array(size).fill(-1); // -1: not visited
  const stack = new Int32Array(size);
  const dirs: Array<[number, number]> =
    conn === 8
      ? [[-1, -1], [0, -1], [1, -1], [-1, 0], [1, 0], [-1, 1], [0, 1], [1, 1]]
      : [[0, -1], [-1, 0], [1, 0], [0, 1]];
  let best: Component | undefined;
  for (let start = 0; start < size; start++) {
    if (label[start] !== -1 || !(map[start] > t)) continue;
    const c: Component = { count: 0, mass: 0, x0: width, y0: height, x1: 0, y1: 0 };
    let top = 0;
    stack[top++] = start;
    label[start] = start;
    while (top > 0) {
      const p = stack[--top];
      const y = Math.floor(p / width);
      const x = p - y * width;
      c.count++;
      c.mass += map[p];
      if (x < c.x0) c.x0 = x;
      if (y < c.y0) c.y0 = y;
      if (x + 1 > c.x1) c.x1 = x + 1;
      if (y + 1 > c.y1) c.y1 = y + 1;
      for (const [dx, dy] of dirs) {
        const nx = x + dx;
        const ny = y + dy;
        if (nx < 0 || ny < 0 || nx >= width || ny >= height) continue;
        const q = ny * width + nx;
        if (label[q] === -1 && map[q] > t) {
          label[q] = start;
          stack[top++] = q;
        }
      }
    }
    // Strictly larger only: an exact tie keeps the component met first in raster order.
    if (!best || c.count > best.count || (c.count === best.count && c.mass > best.mass)) best = c;
  }
  return best ? [best.x0, best.y0, best.x1, best.y1] : undefined;
}

export function boxArea(b: Box): number {
  return Math.max(0, b[2] - b[0]) * Math.max(0, b[3] - b[1]);
}

/** Intersection over union of two boxes (continuous coordinates); 0 when either is missing or both are empty. */
export function iou(a: Box | undefined, b: Box | undefined): number {
  if (!a || !b) return 0;
  const iw = Math.max(0, Math.min(a[2], b[2]) - Math.max(a[0], b[0]));
  const ih = Math.max(0, Math.min(a[3], b[3]) - Math.max(a[1], b[1]));
  const inter = iw * ih;
  const union = boxArea(a) + boxArea(b) - inter;
  return union > 0 ? inter / union : 0;
}

/** The box covering the central `fraction` of the image's width and of its height (fraction 1: the whole image). */
export function centralBox(height: number, width: number, fraction: number): Box {
  const bw = width * fraction;
  const bh = height * fraction;
  const x0 = (width - bw) / 2;
  const y0 = (height - bh) / 2;
  return [x0, y0, x0 + bw, y0 + bh];
}

/** Ground-truth box i of a flat [x0,y0,x1,y1] x n array. */
export function boxAt(boxes: ArrayLike<number>, i: number): Box {
  return [boxes[4 * i], boxes[4 * i + 1], boxes[4 * i + 2], boxes[4 * i + 3]];
}
