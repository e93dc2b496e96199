// Shared configs for training tests: runs of seconds on the pure-JS backend, and a learnable task (quadrant images).
import fs from 'node:fs';
import path from 'node:path';
import { applyOverrides, validateConfig } from '../../src/config/load.js';
import type { Config } from '../../src/config/schema.js';
import { TIMING_COLUMNS } from '../../src/run/metrics.js';
import { Rng } from '../../src/util/rng.js';
import { idxBytes } from '../data/helpers.js';

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

const SIDE = 8;

/**
 * n grey 8x8 images in 4 classes: class k's quadrant k (row-major: top-left, top-right, bottom-left, bottom-right) is
 * brighter on average (pixels 80..255 against 0..175 elsewhere). Single pixels overlap, so the model has to pool a
 * quadrant: not solved in one step, learned within a few epochs.
 */
function quadrantImages(n: number, seed: string): { images: Uint8Array; labels: Uint8Array } {
  const rng = new Rng(seed);
  const images = new Uint8Array(n * SIDE * SIDE);
  const labels = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const k = i % 4;
    labels[i] = k;
    for (let y = 0; y < SIDE; y++) {
      for (let x = 0; x < SIDE; x++) {
        const bright = Math.floor(y / (SIDE / 2)) === k >> 1 && Math.floor(x / (SIDE / 2)) === (k & 1);
        images[(i * SIDE + y) * SIDE + x] = bright ? 80 + rng.int(176) : rng.int(176);
      }
    }
  }
  return { images, labels };
}

/** The task as MNIST-format files, so the run reads it through the real dataset loader (data.name mnist). */
export function writeQuadrantFolder(dir: string, train: number, test: number): void {
  for (const [prefix, n] of [['train', train], ['t10k', test]] as const) {
    const { images, labels } = quadrantImages(n, prefix);
    fs.writeFileSync(path.join(dir, `${prefix}-images-idx3-ubyte`), idxBytes([n, SIDE, SIDE], images));
    fs.writeFileSync(path.join(dir, `${prefix}-labels-idx1-ubyte`), idxBytes([n], labels));
  }
}

/** A tiny CNN (fc head, Adam) on the quadrant task written into `dir` by writeQuadrantFolder(dir, 300, 100): near chance
 *  (1/4) after one epoch, >= 0.9 validation accuracy after ten. `sets` add the backend and anything else. */
export function quadrantConfig(dir: string, seed: number, sets: string[]): Config {
  return validateConfig(
    applyOverrides({}, [
      `outputDir=${dir}`, `seed=${seed}`,
      'data.name=mnist', `data.dir=${dir}`, 'data.download=false', 'data.validationSize=100',
      'data.augmentation.crop=0', 'data.augmentation.flip=false', 'train.trainEvalSize=0',
      'model.body=cnn', 'model.head=fc', 'model.cnn.stages=[{filters: 4, convs: 1}]', 'model.cnn.dropout=0', 'model.fc.hidden=[]',
      'train.epochs=10', 'train.batchSize=16', 'train.optimizer.name=adam', 'train.optimizer.lr=0.003', 'train.schedule.name=constant',
      ...sets,
    ]),
    'quadrant',
  );
}
