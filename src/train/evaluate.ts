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

/** Mean loss and accuracy of the logits model `net` over `set`; NaN for an empty set. */
export function evaluate(net: tf.LayersModel, set: ImageSet, pre: Preprocessor, batchSize: number): EvalResult {
  if (set.n === 0) return { loss: NaN, acc: NaN };
  let lossSum = 0;
  let correct = 0;
  for (const b of batches(set, { batchSize, pre })) {
    const pair = tf.tidy(() => {
      const logits = net.apply(b.x, { training: false }) as tf.Tensor2D;
      return tf.stack([tf.mul(crossEntropy(logits, b.y), b.size), countCorrect(logits, b.y)]);
    });
    const [l, c] = pair.dataSync();
    lossSum += l;
    correct += c;
    tf.dispose([pair, b.x, b.y]);
  }
  return { loss: lossSum / set.n, acc: correct / set.n };
}
