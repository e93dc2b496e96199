// Loss and accuracy of a model over a whole image set, in inference mode (no dropout, batch-norm moving stats).
import * as tf from '@tensorflow/tfjs';
import { batches } from '../data/batches.js';
import type { Preprocessor } from '../data/preprocess.js';
import type { ImageSet } from '../data/types.js';
import { countCorrect, crossEntropy } from './step.js';

export interface EvalResult {
  loss: number;
  acc: number;
}

/** Mean loss and accuracy of the logits model `net` over `set`; NaN for an empty set. One asynchronous read per batch. */
export async function evaluate(net: tf.LayersModel, set: ImageSet, pre: Preprocessor, batchSize: number): Promise<EvalResult> {
  if (set.n === 0) return { loss: NaN, acc: NaN };
  let lossSum = 0;
  let correct = 0;
  for (const b of batches(set, { batchSize, pre })) {
    const pair = tf.tidy(() => {
      const logits = net.apply(b.x, { training: false }) as tf.Tensor2D;
      return tf.stack([tf.mul(crossEntropy(logits, b.y), b.size), countCorrect(logits, b.y)]);
    });
    tf.dispose([b.x, b.y]);
    const [l, c] = await pair.data();
    pair.dispose();
    lossSum += l!;
    correct += c!;
  }
  return { loss: lossSum / set.n, acc: correct / set.n };
}
