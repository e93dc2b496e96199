// Runs the PyTorch peer (bench/pytorch/nin.py) as a tuned user would (tcmalloc/jemalloc preloaded) and as shipped.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';

import type { BenchHead, PeerKind, TorchResult } from './types.js';

export interface TorchOptions {
  python: string;
  script: string;
  head: BenchHead;
  batch: number;
  steps: number;
  warmup: number;
  threads: number;
  /** The optimizer of our training step (from configs/nin-<head>.yaml), so both engines run the same update. */
  lr: number;
  momentum: number;
  weightDecay: number;
}

/**
 * Where Debian/Ubuntu (and most distributions) put the allocators PyTorch's CPU tuning guide recommends preloading.
 * Without one, glibc malloc returns freed activations to the kernel and PyTorch pays page faults on every step
 * (measured on these 2-core VMs: 34 train img/s plain against 163 with tcmalloc, issue 11).
 */
export const ALLOCATOR_CANDIDATES = [
  '/usr/lib/x86_64-linux-gnu/libtcmalloc_minimal.so.4',
  '/usr/lib/x86_64-linux-gnu/libtcmalloc.so.4',
  '/usr/lib/x86_64-linux-gnu/libjemalloc.so.2',
  '/usr/lib/aarch64-linux-gnu/libtcmalloc_minimal.so.4',
  '/usr/lib/aarch64-linux-gnu/libtcmalloc.so.4',
  '/usr/lib/aarch64-linux-gnu/libjemalloc.so.2',
  '/usr/lib64/libtcmalloc_minimal.so.4',
  '/usr/lib64/libjemalloc.so.2',
  '/usr/local/lib/libtcmalloc_minimal.so.4',
  '/usr/local/lib/libjemalloc.so.2',
] as const;

/** The first installed allocator library, or undefined. */
export function findAllocator(exists: (p: string) => boolean = existsSync): string | undefined {
  return ALLOCATOR_CANDIDATES.find((p) => exists(p));
}

const ALLOCATOR_RE = /(tcmalloc|jemalloc)/;

/**
 * The peer's environment. 'plain': PyTorch as installed (no preload, its own OpenMP defaults). 'tuned' and
 * 'tuned-bf16': the allocator preloaded and OMP_NUM_THREADS set, as PyTorch's CPU performance tuning guide and its
 * launcher (torch.backends.xeon.run_cpu) do. An OMP_WAIT_POLICY the user set reaches both engines alike.
 */
export function peerEnv(kind: PeerKind, threads: number, allocator: string | undefined, base: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const env = { ...base };
  const preload = (env.LD_PRELOAD ?? '').split(/[:\s]+/).filter((p) => p && !ALLOCATOR_RE.test(p));
  if (kind === 'plain') {
    delete env.OMP_NUM_THREADS;
  } else {
    if (!allocator) throw new Error('no tcmalloc or jemalloc installed (apt-get install libtcmalloc-minimal4): cannot run the tuned peer');
    preload.push(allocator);
    if (threads > 0) env.OMP_NUM_THREADS = String(threads);
  }
  if (preload.length) env.LD_PRELOAD = preload.join(':');
  else delete env.LD_PRELOAD;
  return env;
}

export function peerArgs(o: TorchOptions, kind: PeerKind): string[] {
  return [o.script, '--head', o.head, '--batch', String(o.batch), '--steps', String(o.steps), '--warmup', String(o.warmup),
    '--threads', String(o.threads), '--lr', String(o.lr), '--momentum', String(o.momentum),
    '--weight-decay', String(o.weightDecay), ...(kind === 'tuned-bf16' ? ['--bf16'] : [])];
}

/** The peer's JSON line, or an Error saying why there is none (no python3-torch, no allocator, script missing, bad output). */
export function runTorch(o: TorchOptions, kind: PeerKind, allocator = findAllocator()): Promise<TorchResult> {
  return new Promise((resolve, reject) => {
    const env = peerEnv(kind, o.threads, allocator, process.env);
    const child = spawn(o.python, peerArgs(o, kind), { stdio: ['ignore', 'pipe', 'pipe'], env });
    let out = '', err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', (e) => reject(new Error(`${o.python}: ${e.message}`)));
    child.on('close', (code) => {
      const line = out.trim().split('\n').pop() ?? '';
      if (code !== 0) {
        reject(new Error(`${o.python} ${o.script} exited ${code}: ${err.trim().split('\n').pop() ?? ''}`));
        return;
      }
      try {
        resolve({ ...(JSON.parse(line) as TorchResult), kind });
      } catch {
        reject(new Error(`${o.script} printed no JSON line (got: ${line.slice(0, 200)})`));
      }
    });
  });
}
