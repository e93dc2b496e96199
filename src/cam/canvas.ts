// A minimal RGB raster for the CAM figures: fill, blit, nearest-neighbour upscaling, rectangles, PNG encoding.
import { PNG } from 'pngjs';

export type Rgb = [number, number, number];

export const WHITE: Rgb = [255, 255, 255];
export const BLACK: Rgb = [0, 0, 0];
export const GREEN: Rgb = [0, 230, 0];

/** RGB pixels, row-major, 3 bytes per pixel. */
export class Canvas {
  readonly data: Uint8Array;
  constructor(
    readonly width: number,
    readonly height: number,
    background: Rgb = WHITE,
  ) {
    if (!(Number.isInteger(width) && Number.isInteger(height) && width > 0 && height > 0)) {
      throw new Error(`Canvas: bad size ${width}x${height}`);
    }
    this.data = new Uint8Array(width * height * 3);
    this.fillRect(0, 0, width, height, background);
  }

  setPixel(x: number, y: number, c: Rgb): void {
    if (x < 0 || y < 0 || x >= this.width || y >= this.height) return;
    const o = (y * this.width + x) * 3;
    this.data[o] = c[0];
    this.data[o + 1] = c[1];
    this.data[o + 2] = c[2];
  }

  fillRect(x: number, y: number, w: number, h: number, c: Rgb): void {
    for (let j = Math.max(0, y); j < Math.min(this.height, y + h); j++) {
      for (let i = Math.max(0, x); i < Math.min(this.width, x + w); i++) this.setPixel(i, j, c);
    }
  }

  /** Outline of the rectangle [x0,x1) x [y0,y1), `thickness` pixels drawn inwards. */
  strokeRect(x0: number, y0: number, x1: number, y1: number, c: Rgb, thickness = 1): void {
    const [a, b, e, f] = [Math.round(x0), Math.round(y0), Math.round(x1), Math.round(y1)];
    this.fillRect(a, b, e - a, thickness, c);
    this.fillRect(a, f - thickness, e - a, thickness, c);
    this.fillRect(a, b, thickness, f - b, c);
    this.fillRect(e - thickness, b, thickness, f - b, c);
  }

  /** Copies `src` with its top-left corner at (x, y); parts outside are clipped. */
  blit(src: Canvas, x: number, y: number): void {
    for (let j = 0; j < src.height; j++) {
      for (let i = 0; i < src.width; i++) {
        const o = (j * src.width + i) * 3;
        this.setPixel(x + i, y + j, [src.data[o], src.data[o + 1], src.data[o + 2]]);
      }
    }
  }

  /** PNG bytes (8-bit RGB). */
  toPng(): Buffer {
    const png = new PNG({ width: this.width, height: this.height, colorType: 2, inputColorType: 2, inputHasAlpha: false });
    png.data = Buffer.from(this.data.buffer, this.data.byteOffset, this.data.byteLength);
    return PNG.sync.write(png, { colorType: 2, inputColorType: 2, inputHasAlpha: false });
  }
}

/**
 * Canvas of an HWC uint8 image (1 or 3 channels; grey is repeated), each pixel drawn as a `scale` x `scale` block.
 */
export function imageCanvas(pixels: Uint8Array, height: number, width: number, channels: number, scale: number): Canvas {
  const out = new Canvas(width * scale, height * scale);
  for (let y = 0; y < height * scale; y++) {
    for (let x = 0; x < width * scale; x++) {
      const o = (Math.floor(y / scale) * width + Math.floor(x / scale)) * channels;
      const c: Rgb = channels >= 3 ? [pixels[o], pixels[o + 1], pixels[o + 2]] : [pixels[o], pixels[o], pixels[o]];
      out.setPixel(x, y, c);
    }
  }
  return out;
}

/** Per-pixel blend: alpha * top + (1 - alpha) * bottom (same sizes). */
export function blend(bottom: Canvas, top: Canvas, alpha: number): Canvas {
  if (bottom.width !== top.width || bottom.height !== top.height) throw new Error('blend: canvases differ in size');
  const out = new Canvas(bottom.width, bottom.height);
  for (let i = 0; i < out.data.length; i++) out.data[i] = Math.round(alpha * top.data[i] + (1 - alpha) * bottom.data[i]);
  return out;
}
