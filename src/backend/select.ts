// Picks the tfjs backend for a run: tfjs-node-gpu, the oneDNN `native` backend, tfjs-node, or the pure-JS cpu.
import * as tf from '@tensorflow/tfjs';

import type { BackendName } from '../config/schema.js';
import { UserError } from '../errors.js';
import { addonError, DISABLE_ENV, loadAddon } from './native/addon.js';
import { NATIVE_BACKEND_NAME, registerNativeBackend } from './native/register.js';

export interface BackendInfo {
  name: string;
  requested: BackendName;
  detail: string;
}

const HOW_TO_NATIVE =
  'install oneDNN (Debian/Ubuntu: apt-get install libdnnl-dev; macOS: brew install onednn) and run npm run build:native';
const HOW_TO_TENSORFLOW =
  'npm install @tensorflow/tfjs-node-gpu (CUDA 11.2) or @tensorflow/tfjs-node; both download libtensorflow at install time';

/** True when the oneDNN addon is built and loads (and GAPLAB_DISABLE_NATIVE is not 1). */
export function nativeAvailable(): boolean {
  return loadAddon() !== undefined;
}

/** Imports a tfjs-node package (which registers the 'tensorflow' backend); the error message when it cannot. */
async function importTensorflow(pkg: string): Promise<string | undefined> {
  try {
    await import(pkg);
    return tf.findBackend('tensorflow') ? undefined : `${pkg} loaded but registered no 'tensorflow' backend`;
  } catch (e) {
    const msg = e instanceof Error ? e.message.split('\n')[0]! : String(e);
    return `${pkg}: ${msg}`;
  }
}

async function use(name: string): Promise<void> {
  if (!(await tf.setBackend(name))) throw new Error(`tfjs could not initialize backend '${name}'`);
  await tf.ready();
}

async function tryTensorflow(pkgs: string[]): Promise<{ pkg?: string; errors: string[] }> {
  const errors: string[] = [];
  for (const pkg of pkgs) {
    const err = await importTensorflow(pkg);
    if (err === undefined) return { pkg, errors };
    errors.push(err);
  }
  return { errors };
}

function useNative(threads: number): boolean {
  if (!registerNativeBackend({ threads })) return false;
  return true;
}

async function nativeInfo(requested: BackendName): Promise<BackendInfo> {
  await use(NATIVE_BACKEND_NAME);
  const info = loadAddon()!.info();
  return { name: NATIVE_BACKEND_NAME, requested, detail: `oneDNN ${info.onednn}, ${info.threads} threads` };
}

/** Sets the tfjs backend. auto: tfjs-node-gpu where installed and loadable, else native where the addon built,
 *  else tfjs-node, else cpu with ONE warning line saying training will be slow and how to get a fast backend.
 *  An explicitly requested backend that is unavailable is a UserError naming it and how to get it. */
export async function selectBackend(
  requested: BackendName,
  opts: { threads: number; warn: (line: string) => void },
): Promise<BackendInfo> {
  switch (requested) {
    case 'cpu':
      await use('cpu');
      return { name: 'cpu', requested, detail: 'pure-JS tfjs cpu backend' };
    case 'native':
      if (!useNative(opts.threads)) {
        throw new UserError(`backend 'native' is not available (${addonError()}); ${HOW_TO_NATIVE}`);
      }
      return nativeInfo(requested);
    case 'tensorflow': {
      const tfn = await tryTensorflow(['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node']);
      if (!tfn.pkg) throw new UserError(`backend 'tensorflow' is not available (${tfn.errors.join('; ')}); ${HOW_TO_TENSORFLOW}`);
      await use('tensorflow');
      return { name: 'tensorflow', requested, detail: tfn.pkg };
    }
    case 'auto': {
      const gpu = await tryTensorflow(['@tensorflow/tfjs-node-gpu']);
      if (gpu.pkg) {
        await use('tensorflow');
        return { name: 'tensorflow', requested, detail: gpu.pkg };
      }
      if (useNative(opts.threads)) return nativeInfo(requested);
      const nodeCpu = await tryTensorflow(['@tensorflow/tfjs-node']);
      if (nodeCpu.pkg) {
        await use('tensorflow');
        return { name: 'tensorflow', requested, detail: nodeCpu.pkg };
      }
      opts.warn(
        `warning: no fast backend (native: ${addonError()}; tfjs-node not installed): training on the pure-JS cpu ` +
          `backend will be very slow; to fix: ${HOW_TO_NATIVE}`,
      );
      await use('cpu');
      return { name: 'cpu', requested, detail: 'pure-JS tfjs cpu backend (slow)' };
    }
  }
}

export { DISABLE_ENV };
