// Seeded, stratified train/validation split carved out of the training set (the test set is never touched here).
import { UserError } from '../errors.js';
import { deriveSeed, Rng } from '../util/rng.js';
import { subset, type ImageSet } from './types.js';

/**
 * Splits `set` into train and validation parts. Each class gives the validation set its share of
 * `validationSize` (largest remainders break ties by class index), picked by a seeded shuffle;
 * both parts keep the original image order. validationSize 0 gives an empty validation set.
 */
export function splitTrainVal(set: ImageSet, validationSize: number, seed: number): { train: ImageSet; val: ImageSet } {
  if (!Number.isInteger(validationSize) || validationSize < 0) {
    throw new UserError(`data.validationSize: ${validationSize}; expected a whole number >= 0`);
  }
  if (validationSize >= set.n) {
    throw new UserError(
      `data.validationSize: ${validationSize} validation images requested, but the training set has only ${set.n}; ` +
        'use a smaller validationSize (or a larger trainLimit)',
    );
  }
  // Indices per class, in original order.
  const byClass = new Map<number, number[]>();
  for (let i = 0; i < set.n; i++) {
    const c = set.labels[i];
    const list = byClass.get(c);
    if (list) list.push(i);
    else byClass.set(c, [i]);
  }
  const classes = [...byClass.keys()].sort((a, b) => a - b);
  // Proportional quotas, then the leftover images go to the largest fractional parts.
  const exact = classes.map((c) => ((byClass.get(c)?.length ?? 0) * validationSize) / set.n);
  const quota = exact.map(Math.floor);
  let left = validationSize - quota.reduce((a, b) => a + b, 0);
  const order = classes.map((_, k) => k).sort((a, b) => exact[b] - quota[b] - (exact[a] - quota[a]) || a - b);
  for (const k of order) {
    if (left === 0) break;
    quota[k]++;
    left--;
  }
  const rng = new Rng(deriveSeed(seed, 'split'));
  const isVal = new Uint8Array(set.n);
  classes.forEach((c, k) => {
    const members = Int32Array.from(byClass.get(c) ?? []);
    rng.shuffle(members);
    for (let j = 0; j < quota[k]; j++) isVal[members[j]] = 1;
  });
  const trainIdx: number[] = [];
  const valIdx: number[] = [];
  for (let i = 0; i < set.n; i++) (isVal[i] ? valIdx : trainIdx).push(i);
  return { train: subset(set, trainIdx), val: subset(set, valIdx) };
}
