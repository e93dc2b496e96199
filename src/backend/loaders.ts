// What backend selection asks of the machine (tfjs-node packages, the oneDNN addon, Dawn, tfjs's registry); tests fake it.
import * as tf from '@tensorflow/tfjs';

import { addonError, loadAddon } from './native/addon.js';
import { registerNativeBackend } from './native/register.js';
import { findAdapter, type AdapterRequest, type AdapterSummary, type FoundAdapter } from './webgpu/dawn.js';
import { registerWebgpuBackend } from './webgpu/register.js';

export const GPU_PACKAGE = '@tensorflow/tfjs-node-gpu';
export const CPU_PACKAGE = '@tensorflow/tfjs-node';
export type TensorflowPackage = typeof GPU_PACKAGE | typeof CPU_PACKAGE;

/** What importing a tfjs-node package gave: loaded, not installed, or installed but failing; `reason` is one line. */
export type PackageLoad = { status: 'loaded' } | { status: 'missing' | 'broken'; reason: string };

/** What looking for a WebGPU adapter gave (src/backend/webgpu/dawn.ts): one found, or why not, in one line. */
export type WebgpuSearch = { status: 'found'; adapter: AdapterSummary } | { status: 'missing' | 'broken' | 'none'; reason: string };

/** The machine as selectBackend sees it. */
export interface SelectDeps {
  /** Imports a tfjs-node package, which registers the 'tensorflow' backend (and makes it tfjs's current one). */
  importTensorflow(pkg: TensorflowPackage): Promise<PackageLoad>;
  /** Whether the loaded libtensorflow found a GPU device: tfjs-node's NodeJSKernelBackend.isUsingGpuDevice. */
  tensorflowUsesGpu(): boolean;
  /** Registers the `native` backend with this many threads (0 = one per core); false when the addon is unavailable. */
  registerNative(threads: number): boolean;
  /** Why the addon is unavailable (not built, failed to load, GAPLAB_DISABLE_NATIVE=1). */
  nativeError(): string;
  /** The registered native backend in a few words, e.g. 'oneDNN 3.4.1, 2 threads, avx2'. */
  nativeDetail(): string;
  /** Loads Dawn (the optional `webgpu` package) and finds the adapter a webgpu run would use. */
  findWebgpuAdapter(req: AdapterRequest): Promise<WebgpuSearch>;
  /** Registers tfjs's 'webgpu' backend on the adapter the last findWebgpuAdapter found. */
  registerWebgpu(): Promise<void>;
  /** Makes `name` tfjs's backend; throws when it cannot initialize. */
  setBackend(name: string): Promise<void>;
}

function firstLine(e: unknown): string {
  return e instanceof Error ? e.message.split('\n')[0]! : String(e);
}

/** Node's "Cannot find package '<pkg>'": the package itself is absent. A missing dependency *of* the package names that
 *  dependency instead, and counts as broken, since the user did install the package. */
export function isNotInstalled(e: unknown, pkg: string): boolean {
  const code = (e as { code?: unknown } | undefined)?.code;
  return (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') && firstLine(e).includes(`'${pkg}'`);
}

async function importTensorflow(pkg: TensorflowPackage): Promise<PackageLoad> {
  try {
    await import(pkg);
  } catch (e) {
    if (isNotInstalled(e, pkg)) return { status: 'missing', reason: 'not installed' };
    return { status: 'broken', reason: firstLine(e) };
  }
  return tf.findBackend('tensorflow')
    ? { status: 'loaded' }
    : { status: 'broken', reason: `loaded but registered no 'tensorflow' backend` };
}

function tensorflowUsesGpu(): boolean {
  // Set once in NodeJSKernelBackend's constructor from the binding, which looks for a 'GPU' entry in libtensorflow's
  // device list; tfjs's typings do not know the field.
  const backend = tf.findBackend('tensorflow') as { isUsingGpuDevice?: unknown } | null;
  return backend?.isUsingGpuDevice === true;
}

async function setBackend(name: string): Promise<void> {
  if (!(await tf.setBackend(name))) throw new Error(`tfjs could not initialize backend '${name}'`);
  await tf.ready();
}

let lastFound: FoundAdapter | undefined;

/** The real machine. */
export const machineDeps: SelectDeps = {
  importTensorflow,
  tensorflowUsesGpu,
  registerNative: (threads) => registerNativeBackend({ threads }),
  nativeError: () => addonError() ?? 'not available',
  nativeDetail: () => {
    const info = loadAddon()!.info();
    return `oneDNN ${info.onednn}, ${info.threads} threads, ${info.isa ?? 'isa unknown'}`;
  },
  findWebgpuAdapter: async (req) => {
    const search = await findAdapter(req);
    if (search.status === 'found') lastFound = search;
    return search;
  },
  registerWebgpu: async () => {
    if (!lastFound) throw new Error('registerWebgpu before an adapter was found');
    await registerWebgpuBackend(lastFound);
  },
  setBackend,
};
