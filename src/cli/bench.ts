// npm run bench [-- --vs-pytorch --batch 64 128 ...]: NIN training/inference throughput per backend (see src/bench/run.ts).
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

import type { Precision } from '../backend/precision.js';
import { runBench } from '../bench/run.js';
import { BENCH_HEADS, type BenchHead, type BenchJob } from '../bench/types.js';
import { cli, log, main } from './common.js';

const repo = join(dirname(fileURLToPath(import.meta.url)), '../..');

main('bench', async () => {
  const argv = await cli(process.argv, 'bench')
    .option('backend', { type: 'string', array: true, choices: ['native', 'tensorflow', 'webgpu', 'cpu'], describe: 'backends to measure (default: native and tensorflow where available; webgpu and cpu only on request)' })
    .option('precision', { type: 'string', array: true, choices: ['fp32', 'bf16'], default: ['fp32'], describe: 'precisions of our step, e.g. --precision fp32 bf16 (bf16: native backend, CPU with AVX512_BF16 or AMX)' })
    .option('head', { type: 'string', array: true, choices: BENCH_HEADS, default: [...BENCH_HEADS] })
    .option('batch', { type: 'number', array: true, default: [64], describe: 'batch sizes, e.g. --batch 64 128' })
    .option('steps', { type: 'number', default: 20, describe: 'timed steps (median reported)' })
    .option('warmup', { type: 'number', default: 3 })
    .option('cpu-steps', { type: 'number', default: 1, describe: 'timed steps on the cpu backend (~30 min each at batch 64), no warm-up' })
    .option('threads', { type: 'number', default: 2, describe: 'threads for native and PyTorch (0 = one per core)' })
    .option('seed', { type: 'number', default: 1 })
    .option('vs-pytorch', { type: 'boolean', default: false, describe: 'also run the PyTorch peer (same model, step, batch, threads): tuned (tcmalloc/jemalloc preloaded) and plain' })
    .option('pytorch-bf16', { type: 'boolean', default: false, describe: 'with --vs-pytorch: also the tuned peer under torch.autocast bf16' })
    .option('python', { type: 'string', default: '/usr/bin/python3' })
    .option('torch-script', { type: 'string', default: 'bench/pytorch/nin.py', describe: 'relative to the repository' })
    .option('rounds', { type: 'number', default: 1, describe: 'measure each batch and head this many times, ours and the peers in alternating order, and report our ratios paired by round (median and range)' })
    .option('profile', { type: 'boolean', default: false, describe: 'print a per-kernel profile of one training step per job' })
    .option('ceiling', { type: 'boolean', default: false, describe: "also time NIN's convolutions in oneDNN alone (bench/onednn/nin_convs.cc, built with g++) and print each engine's training rate as a share of that" })
    .option('out', { type: 'string', default: 'experiments/bench', describe: 'folder for bench-<timestamp>.json and .csv (relative to the repository)' })
    .check((a) => {
      if (a.batch.some((b) => !Number.isInteger(b) || b < 1)) throw new Error('--batch takes positive integers');
      if (!Number.isInteger(a.steps) || a.steps < 1 || !Number.isInteger(a.warmup) || a.warmup < 0) throw new Error('--steps >= 1, --warmup >= 0');
      if (!Number.isInteger(a.rounds) || a.rounds < 1) throw new Error('--rounds takes an integer >= 1');
      if (!Number.isInteger(a.threads) || a.threads < 0) throw new Error('--threads takes an integer >= 0');
      return true;
    })
    .parseAsync();

  await runBench(
    {
      backends: argv.backend as BenchJob['backend'][] | undefined,
      precisions: argv.precision as Precision[],
      heads: argv.head as BenchHead[],
      batches: argv.batch,
      steps: argv.steps,
      warmup: argv.warmup,
      cpuSteps: argv['cpu-steps'],
      threads: argv.threads,
      seed: argv.seed,
      peers: argv['vs-pytorch'] ? ['tuned', 'plain', ...(argv['pytorch-bf16'] ? ['tuned-bf16' as const] : [])] : [],
      python: argv.python,
      torchScript: resolve(repo, argv['torch-script']),
      outDir: resolve(repo, argv.out),
      profile: argv.profile,
      ceiling: argv.ceiling,
      rounds: argv.rounds,
    },
    log,
  );
});
