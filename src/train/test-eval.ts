// The end of a run: saves the final model and evaluates the test set with the final and the best-validation weights.
import * as tf from '@tensorflow/tfjs';
import type { Config } from '../config/schema.js';
import { saveModel } from '../io/model-files.js';
import { modelDir } from '../run/files.js';
import type { EpochLogs } from '../run/metrics.js';
import { evaluate, type EvalResult } from './evaluate.js';
import type { TrainingParts } from './parts.js';
import type { TrainingData } from './setup.js';

/**
 * Test loss and accuracy of the final weights (saved to model/) and of the best validation epoch's (the final ones
 * again when the last epoch was the best); the model is left with its final weights.
 */
export async function testRun(config: Config, data: TrainingData, parts: TrainingParts, history: readonly EpochLogs[], log: (line: string) => void):
Promise<{ final: EvalResult; best: EvalResult }> {
  const { net, built, best } = parts;
  const bs = config.train.evalBatchSize;
  const final = await evaluate(net, data.test, data.pre, bs);
  await saveModel(built.model, modelDir(parts.runDir, 'final'));
  let bestTest = final;
  if (best.best && best.best.epoch !== history.at(-1)?.epoch) {
    const finalWeights = built.model.getWeights().map((w) => w.clone());
    built.model.setWeights([...best.snapshot()]);
    bestTest = await evaluate(net, data.test, data.pre, bs);
    built.model.setWeights(finalWeights);
    tf.dispose(finalWeights);
  }
  log(`test: final acc ${final.acc.toFixed(4)} loss ${final.loss.toFixed(4)}; ` +
    `best-val epoch ${best.best?.epoch ?? '-'} acc ${bestTest.acc.toFixed(4)} loss ${bestTest.loss.toFixed(4)}`);
  return { final, best: bestTest };
}
