// The config a bench job measures: configs/nin-<head>.yaml, the model and optimizer `npm run train` would run.
import { fileURLToPath } from 'node:url';
import { loadConfig } from '../config/load.js';
import type { Config } from '../config/schema.js';
import type { BenchHead } from './types.js';

export function benchConfig(head: BenchHead): Config {
  const configs = fileURLToPath(new URL('../../configs', import.meta.url));
  return loadConfig(`nin-${head}.yaml`, [], configs).config;
}

/** The SGD settings of that config, which our step uses and the PyTorch peer is given. */
export function peerOptimizer(head: BenchHead): { lr: number; momentum: number; weightDecay: number } {
  const c = benchConfig(head);
  const o = c.train.optimizer;
  if (o.name !== 'sgd') throw new Error(`configs/nin-${head}.yaml: the PyTorch peer mirrors SGD only (got ${o.name})`);
  return { lr: o.lr, momentum: o.momentum, weightDecay: c.model.weightDecay };
}
