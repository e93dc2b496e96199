// Picks the tfjs backend for a run: tfjs-node-gpu on a GPU, the oneDNN `native` backend, tfjs-node, or pure-JS cpu.
import type { BackendName } from '../config/schema.js';
import { UserError } from '../errors.js';
import { CPU_PACKAGE, GPU_PACKAGE, machineDeps, type SelectDeps, type TensorflowPackage } from './loaders.js';
import { DISABLE_ENV, loadAddon } from './native/addon.js';
import { NATIVE_BACKEND_NAME } from './native/register.js';

export interface BackendInfo {
  name: string;
  requested: BackendName;
  detail: string;
}

export interface SelectOptions {
  /** Threads of the native backend (0 = one per core). */
  threads: number;
  /** Gets the one warning line when auto ends on the slow pure-JS cpu backend. */
  warn: (line: string) => void;
  /** Gets the one line saying why auto passed over an installed tfjs-node-gpu; default: `warn`, since it asks the user
   *  to act (fix CUDA, or uninstall the package). */
  info?: (line: string) => void;
}

const HOW_TO_NATIVE =
  'install oneDNN (Debian/Ubuntu: apt-get install libdnnl-dev; macOS: brew install onednn) and run npm run build:native';
// --save-prod: package.json lists the GPU package as an optional peer, which a plain `npm install <it>` leaves out.
const HOW_TO_TENSORFLOW = `npm install --save-prod ${GPU_PACKAGE} (CUDA 11.2 + cuDNN 8.1) or npm install ` +
  `${CPU_PACKAGE}; both download libtensorflow at install time`;
const GPU_NEEDS = 'it needs an NVIDIA GPU with CUDA 11.2 + cuDNN 8.1';

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

async function useCpu(requested: BackendName, deps: SelectDeps, detail: string): Promise<BackendInfo> {
  await deps.setBackend('cpu');
  return { name: 'cpu', requested, detail };
}

/** auto: tfjs-node-gpu when it loads AND sees a GPU; else native; else libtensorflow on the CPU (tfjs-node-gpu if it
 *  loaded, since importing tfjs-node as well would register 'tensorflow' twice, else tfjs-node); else cpu. */
async function selectAuto(opts: SelectOptions, deps: SelectDeps): Promise<BackendInfo> {
  const gpu = await deps.importTensorflow(GPU_PACKAGE);
  const gpuLoaded = gpu.status === 'loaded';
  if (gpuLoaded && deps.tensorflowUsesGpu()) return useTensorflow(GPU_PACKAGE, 'auto', deps);
  // Not installed is the normal CPU machine and says nothing; installed but unused is worth one line.
  const passedOver = gpuLoaded
    ? 'loaded but sees no GPU device'
    : gpu.status === 'broken' ? `does not load (${gpu.reason})` : undefined;
  const say = (using: string): void => {
    if (passedOver === undefined) return;
    (opts.info ?? opts.warn)(`backend: ${GPU_PACKAGE} ${passedOver}; ${GPU_NEEDS}; using ${using}`);
  };
  if (deps.registerNative(opts.threads)) {
    say(NATIVE_BACKEND_NAME);
    return useNative('auto', deps);
  }
  if (gpuLoaded) {
    say(`its libtensorflow on the CPU (native: ${deps.nativeError()})`);
    return useTensorflow(GPU_PACKAGE, 'auto', deps);
  }
  const cpuPkg = await deps.importTensorflow(CPU_PACKAGE);
  if (cpuPkg.status === 'loaded') {
    say(CPU_PACKAGE);
    return useTensorflow(CPU_PACKAGE, 'auto', deps);
  }
  // One line in all: why the GPU package was passed over goes into the warning, not into a line of its own.
  const gpuPart = passedOver === undefined ? '' : `; ${GPU_PACKAGE} ${passedOver}`;
  opts.warn(
    `warning: no fast backend (native: ${deps.nativeError()}; ${CPU_PACKAGE}: ${cpuPkg.reason}${gpuPart}): ` +
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
    case 'auto':
      return selectAuto(opts, deps);
  }
}

export { DISABLE_ENV };
