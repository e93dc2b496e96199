// Registers tfjs's 'webgpu' backend (@tensorflow/tfjs-backend-webgpu) on the adapter that dawn.ts found.
import * as tf from '@tensorflow/tfjs';

import { UserError } from '../../errors.js';
import type { DawnAdapter, FoundAdapter } from './dawn.js';

export const WEBGPU_BACKEND_NAME = 'webgpu';

/** The limits tfjs-backend-webgpu's own factory asks for (the adapter's maxima: large convolutions need them). */
const LIMITS = [
  'maxComputeWorkgroupStorageSize', 'maxComputeWorkgroupsPerDimension', 'maxStorageBufferBindingSize', 'maxBufferSize',
  'maxComputeWorkgroupSizeX', 'maxComputeInvocationsPerWorkgroup',
] as const;

let registered: FoundAdapter | undefined;

/** Makes `navigator.gpu` Dawn's GPU object: Node 20 has no navigator, Node 21+ one without `gpu`. */
function setNavigatorGpu(gpu: FoundAdapter['gpu']): void {
  const g = globalThis as { navigator?: object };
  if (g.navigator) Object.defineProperty(g.navigator, 'gpu', { value: gpu, configurable: true, writable: true });
  else Object.defineProperty(globalThis, 'navigator', { value: { gpu }, configurable: true, writable: true });
}

async function createDevice(adapter: DawnAdapter): Promise<unknown> {
  // Same choices as tfjs-backend-webgpu's own factory: timestamp queries when offered (profiling), maximal limits.
  const requiredLimits: Record<string, number> = {};
  for (const k of LIMITS) if (adapter.limits[k] !== undefined) requiredLimits[k] = adapter.limits[k];
  const requiredFeatures = adapter.features.has('timestamp-query') ? ['timestamp-query'] : [];
  return adapter.requestDevice({ requiredFeatures, requiredLimits });
}

/**
 * Registers the 'webgpu' backend on `found`, once per process (asking for another adapter later is a UserError).
 * tfjs-backend-webgpu is imported only now, after navigator.gpu is set: it checks for navigator.gpu at import and at
 * construction. Its own factory asks navigator.gpu for an adapter by power preference alone, which finds nothing on
 * OpenGL ES (that needs featureLevel 'compatibility'); it is replaced by one that opens the adapter found here.
 */
export async function registerWebgpuBackend(found: FoundAdapter): Promise<void> {
  if (registered) {
    const [was, now] = [registered.adapter, found.adapter];
    if (was.api !== now.api || was.device !== now.device) {
      throw new UserError(`the webgpu backend already runs on ${was.device} (${was.api}) in this process; ` +
        `it cannot move to ${now.device} (${now.api})`);
    }
    return;
  }
  Object.assign(globalThis, found.dawn.globals); // GPUBufferUsage, GPUMapMode, ...: read as globals, as in a browser
  setNavigatorGpu(found.gpu);
  const { WebGPUBackend } = await import('@tensorflow/tfjs-backend-webgpu');
  // By default tfjs runs ops on tensors under 1,000 elements that still sit in CPU memory on the CPU, so scalars and
  // label vectors would bounce between the two; everything stays on the GPU instead.
  tf.env().set('WEBGPU_CPU_FORWARD', false);
  if (tf.findBackendFactory(WEBGPU_BACKEND_NAME)) tf.removeBackend(WEBGPU_BACKEND_NAME);
  // Priority 0: used when asked for by name, never picked by tfjs on its own.
  tf.registerBackend(WEBGPU_BACKEND_NAME, async () => {
    const adapter = await found.open();
    if (!adapter) throw new Error(`the WebGPU adapter ${found.adapter.device} is gone`);
    const device = await createDevice(adapter);
    return new WebGPUBackend(device as GPUDevice, adapter.info as GPUAdapterInfo);
  }, 0);
  registered = found;
}

/** The adapter the registered backend runs on, if any. */
export function registeredAdapter(): FoundAdapter | undefined {
  return registered;
}
