// `npm run bench -- --ceiling`: NIN's convolutions in oneDNN alone (bench/onednn/nin_convs.cc, built here with g++),
// the reference that says what share of the convolution work an engine's whole training step reaches.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

import type { Precision } from '../backend/precision.js';
import { NIN_CIFAR } from '../models/bodies/nin.js';
import type { BenchHead } from './types.js';

/** The oneDNN-alone measurement of one precision and batch (times per training step, in ms). */
export interface Ceiling {
  precision: Precision;
  batch: number;
  fwdMs: number;
  bwdDataMs: number;
  bwdWeightsMs: number;
  totalMs: number;
  gflops: number;
  /** Training images per second if a step were these convolutions and nothing else. */
  imagesPerS: number;
  layers: Array<{ layer: string; fwdMs: number; bwdDataMs: number; bwdWeightsMs: number; impl: string }>;
}

/**
 * NIN's convolutions as "h,ic,oc,k,first" (stride 1, 'same'): the CIFAR table at width 1 (32 -> 16 -> 8 after each
 * block's pooling) and, for the gap head, its 1x1 class-map convolution (192 -> 10). The fc heads end in dense layers,
 * not convolutions. The first layer gets no input gradient (its input is the images).
 */
export function ninConvLayers(head: BenchHead, classes = 10): string[] {
  const out: string[] = [];
  let h = 32, ic = 3;
  NIN_CIFAR.forEach((block, b) => {
    block.filters.forEach((oc, i) => {
      out.push(`${h},${ic},${oc},${i === 0 ? block.kernel : 1},${out.length === 0 ? 1 : 0}`);
      ic = oc;
    });
    if (b < NIN_CIFAR.length - 1) h = Math.ceil(h / 2);
  });
  if (head === 'gap') out.push(`${h},${ic},${classes},1,0`);
  return out;
}

const SOURCE = new URL('../../bench/onednn/nin_convs.cc', import.meta.url);

/** Builds the measuring program once per source version into the user's cache; returns its path. Throws with g++'s
 *  message where it cannot be built (no g++, no oneDNN headers: apt-get install g++ libdnnl-dev). */
export function buildCeilingProgram(env = process.env): string {
  const src = readFileSync(SOURCE);
  const id = createHash('sha256').update(src).digest('hex').slice(0, 16);
  const dir = join(env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'gaplab', 'bench');
  const bin = join(dir, `nin_convs-${id}`);
  if (existsSync(bin)) return bin;
  mkdirSync(dir, { recursive: true });
  const root = env.ONEDNN_ROOT;
  const args = ['-O2', '-std=c++17', SOURCE.pathname, '-o', bin, ...(root ? [`-I${root}/include`, `-L${root}/lib`, `-Wl,-rpath,${root}/lib`] : []), '-ldnnl'];
  const r = spawnSync(env.CXX || 'g++', args, { encoding: 'utf8' });
  if (r.error || r.status !== 0) {
    throw new Error(`could not build ${SOURCE.pathname} (needs g++ and oneDNN: apt-get install g++ libdnnl-dev): ${(r.error?.message ?? r.stderr).trim().split('\n').slice(0, 3).join(' | ')}`);
  }
  return bin;
}

/** Runs the program for one precision, batch and thread count (best of `reps` runs per pass). */
export function measureCeiling(bin: string, precision: Precision, batch: number, threads: number, head: BenchHead, reps = 5): Ceiling {
  const r = spawnSync(bin, [precision === 'bf16' ? 'bf16' : 'f32', String(batch), String(reps), ...ninConvLayers(head)], {
    encoding: 'utf8', env: { ...process.env, OMP_NUM_THREADS: String(threads) },
  });
  const lines = (r.stdout ?? '').trim().split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>);
  const total = lines.at(-1);
  if (r.status !== 0 || !total || typeof total.totalMs !== 'number') {
    throw new Error(`oneDNN-alone measurement failed: ${String(total?.error ?? r.stderr ?? r.error?.message).trim()}`);
  }
  return { ...(total as unknown as Omit<Ceiling, 'layers' | 'precision'>), precision, layers: lines.slice(0, -1) as unknown as Ceiling['layers'] };
}

/** An engine's measured rates, to be shown as shares of the ceiling. */
export interface EngineRates {
  name: string;
  train?: number;
  infer?: number;
}

/** One line per ceiling: its time and rates (training: all three passes; inference: the forward pass at the same
 *  batch), and each engine's rates as shares of them. */
export function formatCeiling(c: Ceiling, head: BenchHead, engines: EngineRates[]): string {
  const inferCeiling = (c.batch * 1000) / c.fwdMs;
  const pct = (v: number | undefined, of: number) => (v === undefined ? '-' : `${((100 * v) / of).toFixed(0)}%`);
  const shares = engines.map((e) => `${e.name} ${pct(e.train, c.imagesPerS)} / ${pct(e.infer, inferCeiling)}`);
  return `oneDNN's ${head} convolutions alone, ${c.precision} batch ${c.batch}: ${c.totalMs.toFixed(1)} ms per training step (forward ` +
    `${c.fwdMs.toFixed(1)}, input gradients ${c.bwdDataMs.toFixed(1)}, filter gradients ${c.bwdWeightsMs.toFixed(1)}; ` +
    `${c.gflops.toFixed(0)} GFLOP/s) = ${c.imagesPerS.toFixed(1)} training / ${inferCeiling.toFixed(1)} inference img/s if a step ` +
    `were nothing else${shares.length ? `; training / inference rate as a share of it: ${shares.join(', ')}` : ''}`;
}
