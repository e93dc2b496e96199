// The in-memory dataset types every other module codes against: uint8 NHWC images held once, batches made on the fly.

/** One split of a dataset: n images stored as uint8 NHWC, one label per image. */
export interface ImageSet {
  /** NHWC uint8 pixels, length n*height*width*channels. */
  images: Uint8Array;
  /** Class index per image, length n. */
  labels: Int32Array;
  n: number;
  height: number;
  width: number;
  channels: number;
  /** Ground-truth boxes [x0, y0, x1, y1] in pixels (x1, y1 exclusive), 4 per image; synthetic data only. */
  boxes?: Float32Array;
}

/** A named dataset: class names in label order, a training set and a test set (the test set is for final evaluation only). */
export interface Dataset {
  name: string;
  classNames: string[];
  train: ImageSet;
  test: ImageSet;
}

/** Bytes per image of a set. */
export function imageSize(set: Pick<ImageSet, 'height' | 'width' | 'channels'>): number {
  return set.height * set.width * set.channels;
}

/** A new set holding the images at `indices`, in that order (pixels, labels and boxes are copied). */
export function subset(set: ImageSet, indices: ArrayLike<number>): ImageSet {
  const size = imageSize(set);
  const m = indices.length;
  const images = new Uint8Array(m * size);
  const labels = new Int32Array(m);
  const boxes = set.boxes ? new Float32Array(m * 4) : undefined;
  for (let k = 0; k < m; k++) {
    const i = indices[k];
    images.set(set.images.subarray(i * size, (i + 1) * size), k * size);
    labels[k] = set.labels[i];
    if (boxes && set.boxes) boxes.set(set.boxes.subarray(i * 4, i * 4 + 4), k * 4);
  }
  const out: ImageSet = { images, labels, n: m, height: set.height, width: set.width, channels: set.channels };
  if (boxes) out.boxes = boxes;
  return out;
}

/** The first `limit` images of a set (0 or a limit >= n returns the set unchanged). */
export function head(set: ImageSet, limit: number): ImageSet {
  if (limit <= 0 || limit >= set.n) return set;
  const idx = new Int32Array(limit);
  for (let i = 0; i < limit; i++) idx[i] = i;
  return subset(set, idx);
}
