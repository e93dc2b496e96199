// scripts/gpu-check.sh [--out file.json]: adapters, webgpu correctness tests and throughput in one JSON (src/bench/gpu-check.ts).
import os from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

import { runGpuCheck } from '../bench/gpu-check.js';
import { cli, log, main } from './common.js';

const repo = join(dirname(fileURLToPath(import.meta.url)), '../..');

main('gpu-check', async () => {
  const stamp = new Date().toISOString().slice(0, 19).replace(/[:T]/g, '-');
  const argv = await cli(process.argv, 'gpu-check')
    .option('out', { type: 'string', default: `gpu-check-${os.hostname()}-${stamp}.json`, describe: 'the JSON file to write' })
    .option('batch', { type: 'number', array: true, default: [64, 128], describe: 'batch sizes of the throughput runs' })
    .option('steps', { type: 'number', default: 20, describe: 'timed steps per throughput run (median reported)' })
    .option('warmup', { type: 'number', default: 3, describe: 'untimed steps first (shader compilation, buffer pools)' })
    .option('python', { type: 'string', default: '/usr/bin/python3', describe: 'a Python with PyTorch for the CUDA peer (skipped without one)' })
    .check((a) => {
      if (a.batch.some((b) => !Number.isInteger(b) || b < 1)) throw new Error('--batch takes positive integers');
      if (!Number.isInteger(a.steps) || a.steps < 1 || !Number.isInteger(a.warmup) || a.warmup < 0) throw new Error('--steps >= 1, --warmup >= 0');
      return true;
    })
    .parseAsync();
  const ok = await runGpuCheck(
    { repo, out: resolve(argv.out), batches: argv.batch, steps: argv.steps, warmup: argv.warmup, python: argv.python },
    log,
  );
  return ok ? 0 : 1;
});
