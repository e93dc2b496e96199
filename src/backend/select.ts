// Picks the tfjs backend for a run: tfjs-node-gpu or WebGPU (Dawn) on a GPU, the oneDNN `native` backend, tfjs-node, cpu.
import type { BackendName } from '../config/schema.js';
import { UserError } from '../errors.js';
import { CPU_PACKAGE, GPU_PACKAGE, machineDeps, type SelectDeps, type TensorflowPackage, type WebgpuSearch } from './loaders.js';
import { DISABLE_ENV, loadAddon } from './native/addon.js';
import { NATIVE_BACKEND_NAME } from './native/register.js';
import { describeAdapter, WEBGPU_PACKAGE, type AdapterSummary } from './webgpu/dawn.js';
import { WEBGPU_BACKEND_NAME } from './webgpu/register.js';

export interface BackendInfo {
  name: string;
  requested: BackendName;
  detail: string;
  /** The WebGPU adapter of a webgpu run: what summary.json records of it. */
  adapter?: AdapterSummary;
}

export interface SelectOptions {
  /** Threads of the native backend (0 = one per core). */
  threads: number;
  /** webgpu.adapter: run on the adapter whose device name contains this; none = the high-performance one. */
  webgpuAdapter?: string;
  /** Gets the warning lines: auto ending on the slow pure-JS cpu backend, webgpu on a software adapter. */
  warn: (line: string) => void;
  /** Gets auto's one line saying what it chose and why; default: `warn`. */
  info?: (line: string) => void;
}

const HOW_TO_NATIVE =
  'install oneDNN (Debian/Ubuntu: apt-get install libdnnl-dev; macOS: brew install onednn) and run npm run build:native';
// --save-prod: package.json lists the GPU package as an optional peer, which a plain `npm install <it>` leaves out.
const HOW_TO_TENSORFLOW = `npm install --save-prod ${GPU_PACKAGE} (CUDA 11.2 + cuDNN 8.1) or npm install ` +
  `${CPU_PACKAGE}; both download libtensorflow at install time`;
const GPU_NEEDS = 'it needs an NVIDIA GPU with CUDA 11.2 + cuDNN 8.1';
const HOW_TO_WEBGPU = `npm install gives the optional package ${WEBGPU_PACKAGE}; it needs a GPU with a Vulkan driver ` +
  '(Linux; in containers NVIDIA_DRIVER_CAPABILITIES must include graphics), Metal or D3D12, or on Linux without one ' +
  "Mesa's software renderer (apt-get install libegl-dev libgl1-mesa-dri; correct but slow); see docs/webgpu.md";

/** True when the oneDNN addon is built and loads (and GAPLAB_DISABLE_NATIVE is not 1). */
export function nativeAvailable(): boolean {
  return loadAddon() !== undefined;
}

async function useTensorflow(pkg: TensorflowPackage, requested: BackendName, deps: SelectDeps): Promise<BackendInfo> {
  await deps.setBackend('tensorflow');
  const gpu = deps.tensorflowUsesGpu();
  const where = gpu ? 'on the GPU' : pkg === GPU_PACKAGE ? 'on the CPU (it sees no GPU device)' : 'on the CPU';
  return { name: 'tensorflow', requested, detail: `${pkg} ${where}` };
}

async function useNative(requested: BackendName, deps: SelectDeps): Promise<BackendInfo> {
  await deps.setBackend(NATIVE_BACKEND_NAME);
  return { name: NATIVE_BACKEND_NAME, requested, detail: deps.nativeDetail() };
}

async function useWebgpu(requested: BackendName, adapter: AdapterSummary, deps: SelectDeps): Promise<BackendInfo> {
  await deps.registerWebgpu();
  await deps.setBackend(WEBGPU_BACKEND_NAME);
  return { name: WEBGPU_BACKEND_NAME, requested, detail: `Dawn on ${describeAdapter(adapter)}`, adapter };
}

async function useCpu(requested: BackendName, deps: SelectDeps, detail: string): Promise<BackendInfo> {
  await deps.setBackend('cpu');
  return { name: 'cpu', requested, detail };
}

/** Why a WebGPU search gave no adapter auto would take, in a few words. */
function webgpuMiss(search: WebgpuSearch): string {
  if (search.status === 'found') return `only a software adapter (${search.adapter.device || search.adapter.description})`;
  return search.status === 'missing' ? `package ${WEBGPU_PACKAGE} not installed` : search.reason;
}

/**
 * auto: tfjs-node-gpu when it loads AND sees a CUDA GPU; else webgpu on a hardware adapter (never a software one: on a
 * CPU, native is many times faster); else native; else libtensorflow on the CPU (tfjs-node-gpu if it loaded, since
 * importing tfjs-node as well would register 'tensorflow' twice, else tfjs-node); else cpu with a warning. Exactly one
 * line says what it took and why the faster ones were passed over. tfjs-node-gpu before webgpu is not measured (no
 * machine here has both); see docs/webgpu.md.
 */
async function selectAuto(opts: SelectOptions, deps: SelectDeps): Promise<BackendInfo> {
  const say = (line: string): void => (opts.info ?? opts.warn)(`backend auto: ${line}`);
  const gpu = await deps.importTensorflow(GPU_PACKAGE);
  const gpuLoaded = gpu.status === 'loaded';
  if (gpuLoaded && deps.tensorflowUsesGpu()) {
    say(`tensorflow, since ${GPU_PACKAGE} sees a CUDA GPU`);
    return useTensorflow(GPU_PACKAGE, 'auto', deps);
  }
  const passed = [
    gpu.status === 'missing' ? `${GPU_PACKAGE} not installed`
      : `${GPU_PACKAGE} ${gpuLoaded ? 'loaded but sees no GPU device' : `does not load (${gpu.reason})`} (${GPU_NEEDS})`,
  ];
  const webgpu = await deps.findWebgpuAdapter({ ...(opts.webgpuAdapter ? { name: opts.webgpuAdapter } : {}), glesFallback: false });
  if (webgpu.status === 'found' && !webgpu.adapter.software) {
    say(`webgpu, on the hardware adapter ${describeAdapter(webgpu.adapter)} (${passed.join('; ')})`);
    return useWebgpu('auto', webgpu.adapter, deps);
  }
  passed.push(`webgpu: ${webgpuMiss(webgpu)}`);
  if (deps.registerNative(opts.threads)) {
    say(`native, since there is no GPU to use (${passed.join('; ')})`);
    return useNative('auto', deps);
  }
  passed.push(`native: ${deps.nativeError()}`);
  if (gpuLoaded) {
    say(`tensorflow, ${GPU_PACKAGE}'s libtensorflow on the CPU (${passed.join('; ')})`);
    return useTensorflow(GPU_PACKAGE, 'auto', deps);
  }
  const cpuPkg = await deps.importTensorflow(CPU_PACKAGE);
  if (cpuPkg.status === 'loaded') {
    say(`tensorflow, ${CPU_PACKAGE} on the CPU (${passed.join('; ')})`);
    return useTensorflow(CPU_PACKAGE, 'auto', deps);
  }
  passed.push(`${CPU_PACKAGE}: ${cpuPkg.reason}`);
  opts.warn(
    `warning: backend auto: cpu, since there is no fast backend (${passed.join('; ')}): ` +
      `training on the pure-JS cpu backend will be very slow; to fix: ${HOW_TO_NATIVE}`,
  );
  return useCpu('auto', deps, 'pure-JS tfjs cpu backend (slow)');
}

/** Sets the tfjs backend (see selectAuto for `auto`). An explicitly requested backend that is unavailable is a
 *  UserError naming it and how to get it. `deps` is the machine; tests pass fakes. */
export async function selectBackend(
  requested: BackendName,
  opts: SelectOptions,
  deps: SelectDeps = machineDeps,
): Promise<BackendInfo> {
  switch (requested) {
    case 'cpu':
      return useCpu(requested, deps, 'pure-JS tfjs cpu backend');
    case 'native':
      if (!deps.registerNative(opts.threads)) {
        throw new UserError(`backend 'native' is not available (${deps.nativeError()}); ${HOW_TO_NATIVE}`);
      }
      return useNative(requested, deps);
    case 'tensorflow': {
      // Asked for by name, libtensorflow on the CPU is wanted where there is no GPU: the detail says which it is.
      const errors: string[] = [];
      for (const pkg of [GPU_PACKAGE, CPU_PACKAGE] as const) {
        const load = await deps.importTensorflow(pkg);
        if (load.status === 'loaded') return useTensorflow(pkg, requested, deps);
        errors.push(`${pkg}: ${load.reason}`);
      }
      throw new UserError(`backend 'tensorflow' is not available (${errors.join('; ')}); ${HOW_TO_TENSORFLOW}`);
    }
    case 'webgpu': {
      // Asked for by name, a software adapter is taken (CI checks kernels on one), with a warning that it is slow.
      const search = await deps.findWebgpuAdapter({ ...(opts.webgpuAdapter ? { name: opts.webgpuAdapter } : {}), glesFallback: true });
      if (search.status !== 'found') {
        throw new UserError(`backend 'webgpu' is not available (${webgpuMiss(search)}); ${HOW_TO_WEBGPU}`);
      }
      if (search.adapter.software) {
        opts.warn(`warning: backend webgpu: ${describeAdapter(search.adapter)} is a software renderer on the CPU: ` +
          'results are right, speed is far below the native backend');
      }
      return useWebgpu(requested, search.adapter, deps);
    }
    case 'auto':
      return selectAuto(opts, deps);
  }
}

export { DISABLE_ENV };
