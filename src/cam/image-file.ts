// Reads any PNG or JPEG and resizes it bilinearly to a model's input size (uint8 HWC, 1 or 3 channels).
import fs from 'node:fs';
import * as tf from '@tensorflow/tfjs';
import jpeg from 'jpeg-js';
import { PNG } from 'pngjs';
import { UserError } from '../errors.js';

/** Larger files are a mistake (or an attack on the decoder). */
const MAX_FILE_BYTES = 64 * 1024 * 1024;
const MAX_MEGAPIXELS = 64;
/**
 * Each side at most this many pixels, checked from the header before decoding. The pixel limit alone lets through a
 * 1 x 60,000,000 PNG (68 bytes), on which pngjs builds one buffer per row until the heap runs out.
 */
const MAX_SIDE = 16384;

export interface DecodedImage {
  width: number;
  height: number;
  /** RGBA, 4 bytes per pixel, row-major. */
  rgba: Uint8Array;
}

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
const isPng = (b: Buffer) => b.length >= 8 && b.subarray(0, 8).equals(PNG_SIGNATURE);
const isJpeg = (b: Buffer) => b.length >= 3 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff;

/** A file that is not a usable image; the caller prefixes the file name. */
class BadImage extends Error {}

/** Refuses sizes the decoders should never be asked to allocate. */
function checkSize(width: number, height: number): void {
  if (width < 1 || height < 1) throw new BadImage(`the header says ${width}x${height} pixels: an empty image`);
  if (width > MAX_SIDE || height > MAX_SIDE) {
    throw new BadImage(`the header says ${width}x${height} pixels; each side may be at most ${MAX_SIDE}`);
  }
  if (width * height > MAX_MEGAPIXELS * 1e6) {
    throw new BadImage(`the header says ${width}x${height} pixels, over the ${MAX_MEGAPIXELS}-megapixel limit`);
  }
}

/**
 * Walks the PNG's chunks without decoding them: IHDR must come first and every chunk up to IEND must be whole, so a
 * cut-off file is named as such (pngjs would say "read requests waitng on finished stream"). Returns IHDR's size.
 */
function pngSize(b: Buffer): { width: number; height: number } {
  let size: { width: number; height: number } | undefined;
  for (let pos = 8; ; ) {
    if (pos + 8 > b.length) throw new BadImage(`the PNG file is truncated (it ends after ${b.length} bytes, before its IEND chunk)`);
    const length = b.readUInt32BE(pos);
    const type = b.toString('latin1', pos + 4, pos + 8);
    if (!size && (type !== 'IHDR' || length !== 13)) throw new Error('not a valid PNG file: it does not start with an IHDR chunk');
    if (pos + 12 + length > b.length) {
      throw new BadImage(`the PNG file is truncated (its ${JSON.stringify(type)} chunk at byte ${pos} runs past the end, at ${b.length} bytes)`);
    }
    if (!size) size = { width: b.readUInt32BE(pos + 8), height: b.readUInt32BE(pos + 12) };
    if (type === 'IEND') return size;
    pos += 12 + length;
  }
}

/** SOFn markers carry the frame size; C4 (DHT), C8 (JPG) and CC (DAC) share the range but are not frames. */
const isSof = (m: number) => m >= 0xc0 && m <= 0xcf && m !== 0xc4 && m !== 0xc8 && m !== 0xcc;

/**
 * The frame size from a JPEG's SOF segment, walking the marker segments before the image data; undefined when the
 * layout is not understood (jpeg-js then decides). A file that ends inside those segments is truncated.
 */
function jpegSize(b: Buffer): { width: number; height: number } | undefined {
  for (let pos = 2; ; ) {
    while (pos < b.length && b[pos] === 0xff && b[pos + 1] === 0xff) pos++; // fill bytes
    if (pos + 4 > b.length) throw new BadImage(`the JPEG file is truncated (it ends after ${b.length} bytes, before its image data)`);
    if (b[pos] !== 0xff) return undefined;
    const marker = b[pos + 1];
    const length = b.readUInt16BE(pos + 2);
    if (pos + 2 + length > b.length) throw new BadImage(`the JPEG file is truncated (a segment at byte ${pos} runs past the end, at ${b.length} bytes)`);
    if (isSof(marker)) {
      if (length < 7) return undefined;
      return { height: b.readUInt16BE(pos + 5), width: b.readUInt16BE(pos + 7) };
    }
    if (marker === 0xda || marker === 0xd9) return undefined; // image data or the end before any frame header
    pos += 2 + length;
  }
}

/** The end-of-image marker ends every complete JPEG; without it a decoder error most likely means a cut-off file. */
const jpegEnds = (b: Buffer) => b.length >= 2 && b[b.length - 2] === 0xff && b[b.length - 1] === 0xd9;

/** Decodes PNG or JPEG bytes (told apart by their magic numbers); `source` names the file in errors. */
export function decodeImage(bytes: Buffer, source: string): DecodedImage {
  const png = isPng(bytes);
  if (!png && !isJpeg(bytes)) throw new UserError(`${source}: not a PNG or JPEG file`);
  try {
    if (png) {
      const { width, height } = pngSize(bytes);
      checkSize(width, height);
      const p = PNG.sync.read(bytes);
      return { width: p.width, height: p.height, rgba: new Uint8Array(p.data) };
    }
    const size = jpegSize(bytes);
    if (size) checkSize(size.width, size.height);
    try {
      const j = jpeg.decode(bytes, { useTArray: true, formatAsRGBA: true, maxResolutionInMP: MAX_MEGAPIXELS, maxMemoryUsageInMB: 1024 });
      return { width: j.width, height: j.height, rgba: j.data };
    } catch (e) {
      if (!jpegEnds(bytes)) throw new BadImage(`the JPEG file is truncated (no end-of-image marker; the decoder says: ${(e as Error).message})`);
      throw e;
    }
  } catch (e) {
    if (e instanceof BadImage) throw new UserError(`${source}: ${e.message}`);
    throw new UserError(`${source}: cannot decode the image (${(e as Error).message})`);
  }
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
export async function toModelImage(img: DecodedImage, height: number, width: number, channels: number): Promise<Uint8Array> {
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
  // Read asynchronously: dataSync is unavailable on the webgpu backend in Node (it needs OffscreenCanvas).
  const data = Uint8Array.from(await out.data());
  out.dispose();
  return data;
}
