// Shared configs for training tests: runs of seconds on the pure-JS backend, and a learnable one for the fast backend.
import fs from 'node:fs';
import path from 'node:path';
import { applyOverrides, validateConfig } from '../../src/config/load.js';
import type { Config } from '../../src/config/schema.js';
import { TIMING_COLUMNS } from '../../src/train/callbacks/csv-logger.js';

/** A run of a few seconds on the pure-JS backend: 8x8 images, a one-stage CNN with an FC + dropout head. */
export function microConfig(outputDir: string, sets: string[] = []): Config {
  return validateConfig(
    applyOverrides({}, [
      'experiment=micro', 'backend=cpu', `outputDir=${outputDir}`, 'seed=5',
      'data.synthetic.classes=2', 'data.synthetic.trainSize=48', 'data.synthetic.testSize=16', 'data.synthetic.imageSize=8',
      'data.validationSize=16', 'data.augmentation.crop=1',
      'model.body=cnn', 'model.head=fc-dropout', 'model.cnn.stages=[{filters: 4, convs: 1}]', 'model.fc.hidden=[8]',
      'train.epochs=2', 'train.batchSize=8', 'train.optimizer.lr=0.05', ...sets,
    ]),
    'micro',
  );
}

/** A run's metrics.csv lines without the wall-clock columns: what must match bit for bit between equal runs. */
export function deterministicColumns(runDir: string): string[] {
  const lines = fs.readFileSync(path.join(runDir, 'metrics.csv'), 'utf8').trim().split('\n');
  const keep = lines[0].split(',').map((name) => !(TIMING_COLUMNS as readonly string[]).includes(name));
  return lines.map((line) => line.split(',').filter((_, j) => keep[j]).join(','));
}
