// Registers the `native` tfjs backend: every cpu kernel, with the native ones registered over them.
import * as tf from '@tensorflow/tfjs';
import type { KernelFunc, NamedAttrMap } from '@tensorflow/tfjs';
import { availableParallelism } from 'node:os';

import { UserError } from '../../errors.js';
import { addonError, loadAddon, type NativeAddon } from './addon.js';
import {
  convChoicesPath, loadConvChoices, machineOf, saveConvChoices, type ChoicesFile,
} from './conv-choices.js';
import { NativeBackend } from './backend.js';
import { installNativeGradients, NATIVE_BACKEND_NAME } from './gradients.js';
import type { NativeKernel } from './kernels/common.js';
import { batchNormKernels } from './kernels/batchnorm.js';
import { convKernels } from './kernels/conv.js';
import { elementwiseKernels } from './kernels/elementwise.js';
import { dropoutKernels } from './kernels/dropout.js';
import { sgdKernels } from './kernels/sgd.js';
import { fusedKernels } from './kernels/fused.js';
import { matmulKernels } from './kernels/matmul.js';
import { poolKernels } from './kernels/pool.js';
import { reduceKernels } from './kernels/reduce.js';

export { NATIVE_BACKEND_NAME };

export const NATIVE_KERNELS: readonly NativeKernel[] = [
  ...convKernels, ...elementwiseKernels, ...reduceKernels, ...poolKernels, ...matmulKernels, ...batchNormKernels,
  ...fusedKernels, ...dropoutKernels, ...sgdKernels,
];

const CONV_LAYOUTS = ['plain', 'blocked', 'split', 'auto'] as const;
/** Env var: 0 keeps convolutions on oneDNN's direct algorithm (1, the default, lets timing choose Winograd). */
export const WINOGRAD_ENV = 'GAPLAB_WINOGRAD';
type ConvLayout = (typeof CONV_LAYOUTS)[number];

export interface NativeBackendOptions {
  /** OpenMP threads for oneDNN and the native loops; 0 = one per core. */
  threads: number;
  /** How convolutions run (see Layout in native/src/conv.cc); default from GAPLAB_CONV_LAYOUT, else auto. */
  convLayout?: ConvLayout;
}

/** Calls per kernel that ran natively or fell back to the cpu kernel (tests assert the native path ran). */
export const kernelCalls = new Map<string, { native: number; fallback: number }>();

function count(name: string, native: boolean): void {
  let c = kernelCalls.get(name);
  if (!c) kernelCalls.set(name, (c = { native: 0, fallback: 0 }));
  if (native) c.native++;
  else c.fallback++;
}

function wrap(k: NativeKernel, fallback: KernelFunc | undefined): KernelFunc {
  return (args) => {
    const out = k.impl(args.inputs, args.backend as NativeBackend, (args.attrs ?? {}) as NamedAttrMap);
    if (out !== undefined) {
      count(k.kernelName, true);
      return out;
    }
    if (!fallback) throw new Error(`native kernel ${k.kernelName} cannot handle these inputs and has no cpu fallback`);
    count(k.kernelName, false);
    if (process.env.GAPLAB_NATIVE_DEBUG === '1') {
      const shapes = Object.entries(args.inputs).map(([n, t]) => `${n}: ${t?.dtype}[${t?.shape.join(',')}]`);
      process.stderr.write(`gaplab native: ${k.kernelName} falls back to the cpu kernel (${shapes.join(', ')})\n`);
    }
    return fallback(args);
  };
}

function resolveThreads(threads: number): number {
  return threads > 0 ? threads : Math.max(1, availableParallelism());
}

let registered: NativeAddon | undefined;
/** The convolution choice file in use (it depends on the thread count) and what its choices were timed for. */
let choices: { file: string | undefined; machine?: ChoicesFile['machine'] } | undefined;

/** Saves the choices made so far to their file (on exit, and before a thread change drops them). */
function saveChoices(addon: NativeAddon): void {
  if (choices?.file) saveConvChoices(addon, choices.file, choices.machine);
}

/** Switches to the choice file of the current settings and loads it. */
function useChoiceFile(addon: NativeAddon): void {
  const file = convChoicesPath(addon);
  if (choices && file === choices.file) return;
  if (!choices) process.on('exit', () => saveChoices(addon));
  choices = { file, machine: machineOf(addon) };
  loadConvChoices(addon, file);
}

/**
 * Registers backend 'native' (priority below cpu, so it is used only when selected) and returns true, or returns
 * false when the addon is unavailable (addonError() says why). Safe to call again: later calls only set threads.
 */
export function registerNativeBackend(opts: NativeBackendOptions): boolean {
  const addon = loadAddon();
  if (!addon) return false;
  const threads = resolveThreads(opts.threads);
  // Convolution choices are timed for a thread count, and the addon drops them when it changes: save them first.
  if (threads !== addon.getThreads()) saveChoices(addon);
  addon.setThreads(threads);
  const layout = opts.convLayout ?? process.env.GAPLAB_CONV_LAYOUT;
  if (layout !== undefined) {
    if (!CONV_LAYOUTS.includes(layout as ConvLayout)) {
      throw new UserError(`GAPLAB_CONV_LAYOUT=${layout}: must be one of ${CONV_LAYOUTS.join(', ')}`);
    }
    addon.setConvLayout(layout as ConvLayout);
  }
  // GAPLAB_WINOGRAD=0: only oneDNN's direct convolutions (timing may otherwise pick Winograd for 3x3 layers).
  const winograd = process.env[WINOGRAD_ENV];
  if (winograd !== undefined && winograd !== '0' && winograd !== '1') throw new UserError(`${WINOGRAD_ENV}=${winograd}: must be 0 or 1`);
  addon.setWinograd?.(winograd !== '0');
  useChoiceFile(addon);
  if (registered) return true;
  registered = addon;
  tf.registerBackend(NATIVE_BACKEND_NAME, () => new NativeBackend(addon), 0);
  const overridden = new Set(NATIVE_KERNELS.map((k) => k.kernelName));
  for (const cfg of tf.getKernelsForBackend('cpu')) {
    if (!overridden.has(cfg.kernelName)) tf.registerKernel({ ...cfg, backendName: NATIVE_BACKEND_NAME });
  }
  for (const k of NATIVE_KERNELS) {
    const cpu = tf.getKernelsForBackend('cpu').find((c) => c.kernelName === k.kernelName);
    tf.registerKernel({ kernelName: k.kernelName, backendName: NATIVE_BACKEND_NAME, kernelFunc: wrap(k, cpu?.kernelFunc) });
  }
  installNativeGradients();
  return true;
}

export { addonError };
