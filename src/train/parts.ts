// The stateful parts of a run, built fresh: model and its logits view, optimizer, lr schedule, early stopping, best model.
import type * as tf from '@tensorflow/tfjs';
import type { Config } from '../config/schema.js';
import { saveModel } from '../io/model-files.js';
import { buildModel, logitsModel, type BuiltModel } from '../models/registry.js';
import { modelDir } from '../run/files.js';
import { BestModel } from './callbacks/best-model.js';
import { EarlyStopping } from './callbacks/early-stopping.js';
import type { ResumableParts } from './checkpoint.js';
import { createOptimizer } from './optimizer.js';
import { LrSchedule } from './schedule.js';
import type { TrainingData } from './setup.js';
import { trainableVariables } from './step.js';

export interface TrainingParts extends ResumableParts {
  built: BuiltModel;
  /** The logits model [n,C] that is trained; shares every weight with built.model (the softmax model that is saved). */
  net: tf.LayersModel;
  /** Frees the models, optimizer slots and the best epoch's weights. */
  dispose(): void;
}

/** Builds the model for `data` (seeded by config.seed) and everything that trains it; model-best/ is saved on each new best. */
export function buildTrainingParts(config: Config, data: TrainingData, runDir: string, log: (line: string) => void): TrainingParts {
  const { train } = data;
  const built = buildModel(config.model, { inputShape: [train.height, train.width, train.channels], numClasses: data.classNames.length }, config.seed);
  const net = logitsModel(built);
  const disposables: Array<{ dispose(): void }> = [built.model, net];
  const dispose = () => {
    for (const d of disposables.reverse()) d.dispose();
  };
  try {
    const p = built.params;
    log(`model: ${config.model.body} + ${config.model.head}, ${p.total.toLocaleString('en-US')} parameters ` +
      `(body ${p.body.toLocaleString('en-US')}, head ${p.head.toLocaleString('en-US')})`);
    const optimizer = createOptimizer(config.train.optimizer, config.model.weightDecay);
    disposables.push(optimizer);
    const es = config.train.earlyStopping;
    const best = new BestModel(built.model, es.monitor, async () => saveModel(built.model, modelDir(runDir, 'best')));
    disposables.push(best);
    return {
      runDir, built, net, model: built.model, vars: trainableVariables(net), optimizer, best, dispose,
      schedule: new LrSchedule(config.train.schedule, config.train.optimizer.lr, config.train.epochs),
      earlyStopping: new EarlyStopping(es.monitor, es.patience, es.minDelta),
    };
  } catch (e) {
    dispose();
    throw e;
  }
}
