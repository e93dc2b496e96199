// Child process of native-hostile.test.ts: runs one group of hostile cases on cpu and native, one JSON line per case
// on stdout, so that a crash of the addon kills this process (and names the case it was in), not mocha.
import * as tf from '@tensorflow/tfjs';

import { kernelCalls } from '../../src/backend/native/register.js';
import { HOSTILE_GROUPS } from './native-hostile-cases.js';
import { nativeReady, outputsOn } from './helpers.js';

/** What one case gave: the same on both backends, an Error from native, or different results (a failure). */
export interface CaseReport {
  case: string;
  /** start: about to run (a crash leaves this as the last line). */
  outcome: 'start' | 'same' | 'native-error' | 'both-error' | 'native-only' | 'mismatch';
  detail?: string;
}

/**
 * The native-ops tests' tolerance: 1e-5 of the output's largest value, with values below 1 compared to 1e-5 absolute
 * (a batch norm of one value per channel has gradients that are 0 up to rounding, ~5e-7 on cpu and exactly 0 here).
 */
const TOL = 1e-5;

type Outputs = ReturnType<typeof outputsOn>;

/** Undefined when equal within TOL (NaN matches NaN, infinities match exactly), else what differs. */
function difference(ref: Outputs, got: Outputs): string | undefined {
  if (ref.length !== got.length) return `${got.length} outputs, expected ${ref.length}`;
  for (const [i, r] of ref.entries()) {
    const g = got[i]!;
    if (g.shape.join() !== r.shape.join()) return `output ${i}: shape [${g.shape}], expected [${r.shape}]`;
    let scale = 0;
    for (const v of r.values) if (Number.isFinite(v)) scale = Math.max(scale, Math.abs(v));
    for (let j = 0; j < r.values.length; j++) {
      const a = r.values[j]!, b = g.values[j]!;
      if (Object.is(a, b) || a === b) continue;
      if (!Number.isFinite(a) || !Number.isFinite(b) || Math.abs(a - b) > TOL * Math.max(scale, 1)) {
        return `output ${i}[${j}]: ${b}, expected ${a}`;
      }
    }
  }
  return undefined;
}

function attempt(backend: string, run: () => tf.Tensor | tf.Tensor[]): Outputs | Error {
  try {
    return outputsOn(backend, run);
  } catch (e) {
    // Anything thrown that is not an Error is not the clean JS error the contract asks for.
    return e instanceof Error ? e : new Error(`non-Error thrown: ${String(e)}`);
  }
}

function report(r: CaseReport): void {
  process.stdout.write(`${JSON.stringify(r)}\n`);
}

function main(): number {
  const group = process.argv[2] ?? '';
  const make = HOSTILE_GROUPS[group];
  if (!make) {
    process.stderr.write(`unknown group '${group}'; one of ${Object.keys(HOSTILE_GROUPS).join(', ')}\n`);
    return 2;
  }
  if (!nativeReady()) {
    process.stderr.write('native backend unavailable\n');
    return 2;
  }
  for (const c of make()) {
    report({ case: c.name, outcome: 'start' });
    const ref = attempt('cpu', c.run);
    const got = attempt('native', c.run);
    if (got instanceof Error) {
      report({ case: c.name, outcome: ref instanceof Error ? 'both-error' : 'native-error', detail: got.message.split('\n')[0] });
    } else if (ref instanceof Error) {
      report({ case: c.name, outcome: 'native-only', detail: `cpu: ${ref.message.split('\n')[0]}` });
    } else {
      const diff = difference(ref, got);
      report({ case: c.name, outcome: diff ? 'mismatch' : 'same', ...(diff ? { detail: diff } : {}) });
    }
  }
  // The kernels this group reached on the native backend (natively or through the cpu fallback).
  process.stdout.write(`${JSON.stringify({ kernels: [...kernelCalls.keys()] })}\n`);
  return 0;
}

process.exitCode = main();
