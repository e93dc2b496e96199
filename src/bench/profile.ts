// Per-kernel profile of one training step (tf.profile): which kernels take the time, and whether they ran natively.
import * as tf from '@tensorflow/tfjs';

import { kernelCalls } from '../backend/native/register.js';
import type { KernelTime, StepProfile } from './types.js';

function fallbackCounts(): Map<string, number> {
  return new Map([...kernelCalls].map(([k, c]) => [k, c.fallback]));
}

function nativeCounts(): Map<string, number> {
  return new Map([...kernelCalls].map(([k, c]) => [k, c.native]));
}

/** Profiles one call of `step`. A kernel counts as native when it ran in the addon during the step and never fell
 *  back to tfjs's JavaScript kernel; on other backends every kernel is reported as not native. */
export async function profileStep(step: () => void | Promise<void>): Promise<StepProfile> {
  const fb0 = fallbackCounts(), nat0 = nativeCounts();
  const t0 = performance.now();
  const info = await tf.profile(step);
  const stepMs = performance.now() - t0;
  const fb1 = fallbackCounts(), nat1 = nativeCounts();
  const byName = new Map<string, { ms: number; calls: number }>();
  for (const k of info.kernels) {
    // customGrad ops (fusedConv2d__op, ...) are recorded too, around the kernels they run: not counted twice.
    if (k.name.endsWith('__op')) continue;
    const e = byName.get(k.name) ?? { ms: 0, calls: 0 };
    e.ms += typeof k.kernelTimeMs === 'number' ? k.kernelTimeMs : 0;
    e.calls++;
    byName.set(k.name, e);
  }
  const kernelMs = [...byName.values()].reduce((s, e) => s + e.ms, 0);
  const isNative = (name: string) =>
    tf.getBackend() === 'native' && (nat1.get(name) ?? 0) > (nat0.get(name) ?? 0) && (fb1.get(name) ?? 0) === (fb0.get(name) ?? 0);
  const kernels: KernelTime[] = [...byName]
    .map(([kernel, e]) => ({ kernel, ms: e.ms, calls: e.calls, share: kernelMs > 0 ? e.ms / kernelMs : 0, native: isNative(kernel) }))
    .sort((a, b) => b.ms - a.ms);
  return { stepMs, kernelMs, kernels };
}

/** Text table of the kernels above `minShare` of the step, JS kernels flagged. */
export function formatProfile(p: StepProfile, minShare = 0.005): string {
  const lines = [`profiled step ${p.stepMs.toFixed(0)} ms, kernels ${p.kernelMs.toFixed(0)} ms`];
  for (const k of p.kernels.filter((e) => e.share >= minShare)) {
    lines.push(`  ${k.kernel.padEnd(26)} ${k.ms.toFixed(1).padStart(8)} ms ${String(k.calls).padStart(4)} calls ${(100 * k.share).toFixed(1).padStart(5)}%  ${k.native ? 'native' : 'JS'}`);
  }
  const js = p.kernels.filter((e) => !e.native);
  const worst = js[0];
  lines.push(`  largest JS kernel: ${worst ? `${worst.kernel} ${(100 * worst.share).toFixed(1)}%` : 'none'}; all JS kernels ${(100 * js.reduce((s, e) => s + e.share, 0)).toFixed(1)}%`);
  return lines.join('\n');
}
