// The object classes of the synthetic dataset as point tests in the object's unit box: which paint a point gets.

/** Per-object pattern parameters drawn once per image (only the textured classes use them). */
export interface PatternParams {
  /** Stripe direction, radians. */
  angle: number;
  /** Stripe pairs across the unit box (2 means 4 stripes over the width). */
  frequency: number;
  /** Checks per side of a checker patch. */
  checks: number;
}

/**
 * Returns 0 when (u, v) is outside the shape, 1 for the primary paint, 2 for the secondary paint (textures).
 * (u, v) are in [-1, 1]^2 over the (unrotated) object box; v grows downwards as image rows do.
 */
export type ShapeTest = (u: number, v: number, p: PatternParams) => 0 | 1 | 2;

const inBox = (u: number, v: number): boolean => u >= -1 && u <= 1 && v >= -1 && v <= 1;

/** Star with 5 points: outer radius 1, inner radius STAR_INNER. */
const STAR_INNER = 0.45;
const STAR_SECTOR = (2 * Math.PI) / 5;
const OUTER_X = Math.cos(STAR_SECTOR / 2);
const OUTER_Y = Math.sin(STAR_SECTOR / 2);

function inStar(u: number, v: number): boolean {
  const r = Math.sqrt(u * u + v * v);
  if (r > 1) return false;
  if (r <= STAR_INNER) return true;
  // Fold the angle (0 = pointing up) into one half-sector: psi = 0 at an inner vertex, pi/5 at an outer one.
  let a = Math.atan2(u, -v) % STAR_SECTOR;
  if (a < 0) a += STAR_SECTOR;
  const psi = Math.abs(a - STAR_SECTOR / 2);
  const px = r * Math.cos(psi);
  const py = r * Math.sin(psi);
  // Inside when on the origin's side of the edge from the inner vertex (STAR_INNER, 0) to the outer vertex.
  const cross = (OUTER_X - STAR_INNER) * py - OUTER_Y * (px - STAR_INNER);
  return cross >= 0;
}

/** The classes in label order; `classes: k` in the config uses the first k. */
export const SHAPES: ReadonlyArray<{ name: string; test: ShapeTest }> = [
  { name: 'disc', test: (u, v) => (u * u + v * v <= 1 ? 1 : 0) },
  { name: 'square', test: (u, v) => (inBox(u, v) ? 1 : 0) },
  // Apex up: the half-width grows from 0 at the top (v = -1) to 1 at the bottom.
  { name: 'triangle', test: (u, v) => (v >= -1 && v <= 1 && Math.abs(u) <= (v + 1) / 2 ? 1 : 0) },
  {
    name: 'cross',
    test: (u, v) => ((Math.abs(u) <= 0.33 && Math.abs(v) <= 1) || (Math.abs(v) <= 0.33 && Math.abs(u) <= 1) ? 1 : 0),
  },
  {
    name: 'ring',
    test: (u, v) => {
      const r2 = u * u + v * v;
      return r2 <= 1 && r2 >= 0.36 ? 1 : 0;
    },
  },
  {
    name: 'stripes',
    test: (u, v, p) => {
      if (!inBox(u, v)) return 0;
      const t = (u * Math.cos(p.angle) + v * Math.sin(p.angle) + 2) * p.frequency;
      return Math.floor(t) % 2 === 0 ? 1 : 2;
    },
  },
  {
    name: 'checker',
    test: (u, v, p) => {
      if (!inBox(u, v)) return 0;
      const i = Math.min(p.checks - 1, Math.floor(((u + 1) / 2) * p.checks));
      const j = Math.min(p.checks - 1, Math.floor(((v + 1) / 2) * p.checks));
      return (i + j) % 2 === 0 ? 1 : 2;
    },
  },
  { name: 'diamond', test: (u, v) => (Math.abs(u) + Math.abs(v) <= 1 ? 1 : 0) },
  {
    name: 'frame',
    test: (u, v) => {
      const m = Math.max(Math.abs(u), Math.abs(v));
      return m <= 1 && m >= 0.55 ? 1 : 0;
    },
  },
  { name: 'star', test: (u, v) => (inStar(u, v) ? 1 : 0) },
];
