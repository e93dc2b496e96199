// Reads any PNG or JPEG and resizes it bilinearly to a model's input size (uint8 HWC, 1 or 3 channels).
import fs from 'node:fs';
import * as tf from '@tensorflow/tfjs';
import jpeg from 'jpeg-js';
import { PNG } from 'pngjs';
import { UserError } from '../errors.js';

/** Larger files are a mistake (or an attack on the decoder). */
const MAX_FILE_BYTES = 64 * 1024 * 1024;
const MAX_MEGAPIXELS = 64;

export interface DecodedImage {
  width: number;
  height: number;
  /** RGBA, 4 bytes per pixel, row-major. */
  rgba: Uint8Array;
}

const isPng = (b: Buffer) => b.length >= 8 && b.readUInt32BE(0) === 0x89504e47 && b.readUInt32BE(4) === 0x0d0a1a0a;
const isJpeg = (b: Buffer) => b.length >= 3 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff;

/** Decodes PNG or JPEG bytes (told apart by their magic numbers); `source` names the file in errors. */
export function decodeImage(bytes: Buffer, source: string): DecodedImage {
  try {
    if (isPng(bytes)) {
      // IHDR comes first: refuse absurd sizes before pngjs allocates width * height * 4 bytes.
      if (bytes.length >= 24 && bytes.readUInt32BE(16) * bytes.readUInt32BE(20) > MAX_MEGAPIXELS * 1e6) {
        throw new Error(`${bytes.readUInt32BE(16)}x${bytes.readUInt32BE(20)} pixels is over the ${MAX_MEGAPIXELS}-megapixel limit`);
      }
      const png = PNG.sync.read(bytes);
      return { width: png.width, height: png.height, rgba: new Uint8Array(png.data) };
    }
    if (isJpeg(bytes)) {
      const j = jpeg.decode(bytes, { useTArray: true, formatAsRGBA: true, maxResolutionInMP: MAX_MEGAPIXELS, maxMemoryUsageInMB: 1024 });
      return { width: j.width, height: j.height, rgba: j.data };
    }
  } catch (e) {
    throw new UserError(`${source}: cannot decode the image (${(e as Error).message})`);
  }
  throw new UserError(`${source}: not a PNG or JPEG file`);
}

export function readImageFile(file: string): DecodedImage {
  let st: fs.Stats;
  try {
    st = fs.statSync(file);
  } catch (e) {
    throw new UserError(`${file}: cannot read the image (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  if (!st.isFile()) throw new UserError(`${file}: not a file`);
  if (st.size > MAX_FILE_BYTES) throw new UserError(`${file}: ${st.size} bytes; images larger than ${MAX_FILE_BYTES} bytes are refused`);
  const img = decodeImage(fs.readFileSync(file), file);
  if (img.width < 1 || img.height < 1) throw new UserError(`${file}: the image is empty`);
  return img;
}

/**
 * The image as the model's input: alpha composited over black, converted to `channels` (1: ITU-R 601 luma, 3: RGB),
 * resized bilinearly (half-pixel centres) to height x width, rounded to uint8 HWC.
 */
export function toModelImage(img: DecodedImage, height: number, width: number, channels: number): Uint8Array {
  if (channels !== 1 && channels !== 3) throw new UserError(`models with ${channels} input channels cannot take an image file`);
  const n = img.width * img.height;
  const src = new Float32Array(n * channels);
  for (let i = 0; i < n; i++) {
    const a = img.rgba[4 * i + 3] / 255;
    const [r, g, b] = [img.rgba[4 * i] * a, img.rgba[4 * i + 1] * a, img.rgba[4 * i + 2] * a];
    if (channels === 1) src[i] = 0.299 * r + 0.587 * g + 0.114 * b;
    else [src[3 * i], src[3 * i + 1], src[3 * i + 2]] = [r, g, b];
  }
  const out = tf.tidy(() =>
    tf.image
      .resizeBilinear(tf.tensor3d(src, [img.height, img.width, channels]), [height, width], false, true)
      .round()
      .clipByValue(0, 255),
  );
  const data = Uint8Array.from(out.dataSync());
  out.dispose();
  return data;
}
