// CAM figures: a titled row of image | jet heat map | overlay (alpha 0.5) with boxes, and a grid of such rows.
import type { Box } from './boxes.js';
import { blend, BLACK, Canvas, GREEN, imageCanvas, WHITE, type Rgb } from './canvas.js';
import { heatCanvas } from './colormap.js';
import { drawText, fitText, GLYPH_HEIGHT } from './font.js';

/** Heat map over image, as in Zhou et al.'s figures and the ResNetCAM-keras demo. */
export const OVERLAY_ALPHA = 0.5;
/** Pixels between panels and around the figure. */
const GAP = 4;

export interface FigureInput {
  /** One HWC uint8 image (1 or 3 channels). */
  image: Uint8Array;
  height: number;
  width: number;
  channels: number;
  /** The map upsampled to the image size, [height*width]. */
  map: Float32Array;
  /** Title lines (drawn in upper case). */
  title: string[];
  /** The box extracted from the map (white) and the ground-truth box (green), in image pixels. */
  camBox?: Box;
  trueBox?: Box;
}

function drawBox(c: Canvas, b: Box, scale: number, color: Rgb, thickness: number): void {
  c.strokeRect(b[0] * scale, b[1] * scale, b[2] * scale, b[3] * scale, color, thickness);
}

/** Text scale for a panel size: 2 (14-pixel letters) on panels of 192 pixels or more, else 1. */
function textScale(panelWidth: number): number {
  return panelWidth >= 192 ? 2 : 1;
}

/**
 * Title band above three panels of width*scale x height*scale: the image, the heat map (jet, min-max normalized) and
 * the overlay with the boxes. Pixels are upscaled nearest-neighbour by `scale` so a person can see them.
 */
export function camFigure(f: FigureInput, scale: number): Canvas {
  const pw = f.width * scale;
  const ph = f.height * scale;
  const ts = textScale(pw);
  const lineH = (GLYPH_HEIGHT + 3) * ts;
  const titleH = GAP + f.title.length * lineH;
  const out = new Canvas(3 * pw + 4 * GAP, titleH + ph + 2 * GAP);
  f.title.forEach((line, i) => drawText(out, fitText(line, out.width - 2 * GAP, ts), GAP, GAP + i * lineH, BLACK, ts));
  const img = imageCanvas(f.image, f.height, f.width, f.channels, scale);
  const heat = heatCanvas(f.map, f.height, f.width, scale);
  const over = blend(img, heat, OVERLAY_ALPHA);
  const thick = Math.max(1, Math.round(scale / 4));
  if (f.trueBox) drawBox(over, f.trueBox, scale, GREEN, thick);
  if (f.camBox) drawBox(over, f.camBox, scale, WHITE, thick);
  const y = titleH + GAP;
  [img, heat, over].forEach((p, i) => out.blit(p, GAP + i * (pw + GAP), y));
  return out;
}

/** Cells (same size) laid out row by row in `columns` columns, separated by a thin grey rule. */
export function gridFigure(cells: Canvas[], columns: number): Canvas {
  if (cells.length === 0) throw new Error('gridFigure: no cells');
  const { width: cw, height: ch } = cells[0];
  const cols = Math.max(1, Math.min(columns, cells.length));
  const rows = Math.ceil(cells.length / cols);
  const out = new Canvas(cols * cw + (cols - 1), rows * ch + (rows - 1), [200, 200, 200]);
  cells.forEach((c, i) => out.blit(c, (i % cols) * (cw + 1), Math.floor(i / cols) * (ch + 1)));
  return out;
}
