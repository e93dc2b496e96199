// Runs the PyTorch peer (../shared/bench/torch_nin_bench.py) with the same head, batch, steps and threads.
import { spawn } from 'node:child_process';

import { waitPolicyWasSetByUs } from '../backend/native/addon.js';
import type { BenchHead, TorchResult } from './types.js';

export interface TorchOptions {
  python: string;
  script: string;
  head: BenchHead;
  batch: number;
  steps: number;
  warmup: number;
  threads: number;
}

/** The peer's JSON line, or an Error saying why there is none (no python3-torch, script missing, bad output). */
export function runTorch(o: TorchOptions): Promise<TorchResult> {
  const args = [o.script, '--head', o.head, '--batch', String(o.batch), '--steps', String(o.steps),
    '--warmup', String(o.warmup), '--threads', String(o.threads)];
  return new Promise((resolve, reject) => {
    // The peer runs with PyTorch's own defaults: not with the OMP_WAIT_POLICY our addon set for this process.
    const env = { ...process.env };
    if (waitPolicyWasSetByUs()) delete env.OMP_WAIT_POLICY;
    const child = spawn(o.python, args, { stdio: ['ignore', 'pipe', 'pipe'], env });
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
        resolve(JSON.parse(line) as TorchResult);
      } catch {
        reject(new Error(`${o.script} printed no JSON line (got: ${line.slice(0, 200)})`));
      }
    });
  });
}
