// Backend selection: auto takes tfjs-node-gpu on a CUDA GPU, webgpu on a hardware adapter, then native, tfjs-node, cpu;
// explicit misses are errors.
import * as tf from '@tensorflow/tfjs';
import { expect } from 'chai';

import { isNotInstalled, type PackageLoad, type SelectDeps, type WebgpuSearch } from '../../src/backend/loaders.js';
import type { AdapterRequest, AdapterSummary } from '../../src/backend/webgpu/dawn.js';
import { type BackendInfo, DISABLE_ENV, selectBackend, type SelectOptions } from '../../src/backend/select.js';
import type { BackendName } from '../../src/config/schema.js';
import { UserError } from '../../src/errors.js';
import { needsNative } from '../requires.js';

async function withNativeDisabled<T>(f: () => Promise<T>): Promise<T> {
  const prev = process.env[DISABLE_ENV];
  process.env[DISABLE_ENV] = '1';
  try {
    return await f();
  } finally {
    if (prev === undefined) delete process.env[DISABLE_ENV];
    else process.env[DISABLE_ENV] = prev;
  }
}

const GPU = '@tensorflow/tfjs-node-gpu';
const CPU = '@tensorflow/tfjs-node';
const LOADED: PackageLoad = { status: 'loaded' };
const MISSING: PackageLoad = { status: 'missing', reason: 'not installed' };
const BROKEN: PackageLoad = { status: 'broken', reason: 'libcudart.so.11.0: cannot open shared object file' };
const NO_NATIVE = 'native/build/Release/gaplab_native.node not built';
const NATIVE_INFO: BackendInfo = { name: 'native', requested: 'auto', detail: 'oneDNN 3.4.1, 2 threads' };
const NEEDS = 'it needs an NVIDIA GPU with CUDA 11.2 + cuDNN 8.1';

const RTX: AdapterSummary = {
  api: 'vulkan', featureLevel: 'core', vendor: 'nvidia', architecture: 'ampere', device: 'NVIDIA GeForce RTX 3090',
  description: 'NVIDIA: 550.54.14', software: false,
};
const LLVMPIPE: AdapterSummary = {
  api: 'opengles', featureLevel: 'compatibility', vendor: '', architecture: '', device: 'llvmpipe-llvm-15-0-6-256-bits-',
  description: 'OpenGL version OpenGL ES 3.2 Mesa 22.3.6', software: true,
};
const WEBGPU_MISSING: WebgpuSearch = { status: 'missing', reason: 'not installed' };
const NO_VULKAN: WebgpuSearch = { status: 'none', reason: 'no Vulkan loader (libvulkan.so.1)' };
const found = (adapter: AdapterSummary): WebgpuSearch => ({ status: 'found', adapter });
const RTX_INFO: BackendInfo = {
  name: 'webgpu', requested: 'auto', adapter: RTX,
  detail: 'Dawn on nvidia ampere: NVIDIA GeForce RTX 3090, NVIDIA: 550.54.14 (vulkan)',
};

/** What a fake machine has. */
interface Machine {
  gpuPackage: PackageLoad;
  /** Whether libtensorflow, once tfjs-node-gpu loaded, finds a GPU device. */
  gpuDevice?: boolean;
  /** What Dawn finds, by whether the OpenGL ES fallback is asked for (default: the webgpu package is not installed). */
  webgpu?: WebgpuSearch;
  webgpuWithGles?: WebgpuSearch;
  native: boolean;
  cpuPackage: PackageLoad;
}

/** Loaders for a fake machine; records what selection imported, asked Dawn for, and which backends it set. */
function fakeMachine(has: Machine): { deps: SelectDeps; imported: string[]; backends: string[]; adapterRequests: AdapterRequest[] } {
  const imported: string[] = [];
  const backends: string[] = [];
  const adapterRequests: AdapterRequest[] = [];
  let loaded: string | undefined; // the first package that loaded owns the 'tensorflow' backend
  let nativeThreads = 0;
  let webgpuFound = false;
  const deps: SelectDeps = {
    importTensorflow: async (pkg) => {
      imported.push(pkg);
      const load = pkg === GPU ? has.gpuPackage : has.cpuPackage;
      if (load.status === 'loaded') loaded ??= pkg;
      return load;
    },
    tensorflowUsesGpu: () => loaded === GPU && has.gpuDevice === true,
    registerNative: (threads) => {
      nativeThreads = threads;
      return has.native;
    },
    nativeError: () => NO_NATIVE,
    nativeDetail: () => `oneDNN 3.4.1, ${nativeThreads} threads`,
    findWebgpuAdapter: async (req) => {
      adapterRequests.push(req);
      const search = (req.glesFallback ? has.webgpuWithGles : undefined) ?? has.webgpu ?? WEBGPU_MISSING;
      webgpuFound = search.status === 'found';
      return search;
    },
    registerWebgpu: async () => {
      expect(webgpuFound, 'registerWebgpu after an adapter was found').to.equal(true);
      backends.push('(webgpu registered)');
    },
    setBackend: async (name) => {
      backends.push(name);
    },
  };
  return { deps, imported, backends, adapterRequests };
}

/** Options that collect the warning and info lines. */
function collecting(extra: Partial<SelectOptions> = {}): { opts: SelectOptions; warnings: string[]; infos: string[] } {
  const warnings: string[] = [];
  const infos: string[] = [];
  return { opts: { threads: 2, warn: (l) => warnings.push(l), info: (l) => infos.push(l), ...extra }, warnings, infos };
}

/** All that one selection did: the result, what it imported, which backends it set, and the lines it said. */
interface Outcome {
  info: BackendInfo;
  imported: string[];
  backends: string[];
  infos: string[];
  warnings: string[];
}

async function outcome(requested: BackendName, has: Machine): Promise<Outcome> {
  const m = fakeMachine(has);
  const { opts, warnings, infos } = collecting();
  const info = await selectBackend(requested, opts, m.deps);
  return { info, imported: m.imported, backends: m.backends, infos, warnings };
}

describe('selectBackend on this machine', () => {
  after(() => tf.setBackend('cpu'));

  it('cpu on request, without warnings', async () => {
    const warnings: string[] = [];
    const info = await selectBackend('cpu', { threads: 1, warn: (l) => warnings.push(l) });
    expect(info).to.deep.equal({ name: 'cpu', requested: 'cpu', detail: 'pure-JS tfjs cpu backend' });
    expect(tf.getBackend()).to.equal('cpu');
    expect(warnings).to.deep.equal([]);
  });

  it('auto picks native where the addon is built', async function () {
    needsNative(this);
    const { opts, warnings } = collecting();
    const info = await selectBackend('auto', opts);
    expect(info.name).to.equal('native');
    expect(info.detail).to.match(/^oneDNN \d+\.\d+\.\d+, 2 threads, (avx|avx2|avx2_vnni|avx512_core\w*|sse41)$/);
    expect(tf.getBackend()).to.equal('native');
    expect(warnings).to.deep.equal([]);
  });

  it(`native on request with the addon hidden (${DISABLE_ENV}=1) is a UserError naming why and the fix`, async () => {
    const opts = { threads: 1, warn: () => undefined };
    const err = await withNativeDisabled(() => selectBackend('native', opts).then(() => undefined, (e: unknown) => e));
    expect(err).to.be.instanceOf(UserError);
    expect((err as UserError).message).to.include(`backend 'native' is not available (disabled by ${DISABLE_ENV}=1)`)
      .and.include('apt-get install libdnnl-dev');
  });
});

describe('isNotInstalled', () => {
  it("tells Node's error for an absent package from one for a package that lacks a dependency", async () => {
    const absent = 'gaplab-test-no-such-package';
    const err = await import(absent).then(() => undefined, (e: unknown) => e);
    expect(isNotInstalled(err, absent)).to.equal(true);
    // The same error seen from a package that did import: it names another package, so that one is broken.
    expect(isNotInstalled(err, GPU)).to.equal(false);
    expect(isNotInstalled(new Error(`Cannot find package '${absent}'`), absent)).to.equal(false); // no code: not Node's
  });
});

/** What auto does on each kind of machine, in full: one row a machine. */
const AUTO_CASES: Array<{ title: string; has: Machine; want: Outcome }> = [
  {
    title: 'tfjs-node-gpu that sees a GPU: tensorflow, nothing else tried, one line',
    has: { gpuPackage: LOADED, gpuDevice: true, webgpu: found(RTX), native: true, cpuPackage: LOADED },
    want: {
      info: { name: 'tensorflow', requested: 'auto', detail: `${GPU} on the GPU` },
      imported: [GPU], backends: ['tensorflow'], warnings: [],
      infos: [`backend auto: tensorflow, since ${GPU} sees a CUDA GPU`],
    },
  },
  {
    title: 'no tfjs-node-gpu, a hardware WebGPU adapter: webgpu before native',
    has: { gpuPackage: MISSING, webgpu: found(RTX), native: true, cpuPackage: LOADED },
    want: {
      info: RTX_INFO, imported: [GPU], backends: ['(webgpu registered)', 'webgpu'], warnings: [],
      infos: ['backend auto: webgpu, on the hardware adapter nvidia ampere: NVIDIA GeForce RTX 3090, NVIDIA: 550.54.14 ' +
        `(vulkan) (${GPU} not installed)`],
    },
  },
  {
    title: 'tfjs-node-gpu without a GPU device, a hardware WebGPU adapter: webgpu, the line names both',
    has: { gpuPackage: LOADED, gpuDevice: false, webgpu: found(RTX), native: true, cpuPackage: LOADED },
    want: {
      info: RTX_INFO, imported: [GPU], backends: ['(webgpu registered)', 'webgpu'], warnings: [],
      infos: ['backend auto: webgpu, on the hardware adapter nvidia ampere: NVIDIA GeForce RTX 3090, NVIDIA: 550.54.14 ' +
        `(vulkan) (${GPU} loaded but sees no GPU device (${NEEDS}))`],
    },
  },
  {
    title: 'only a software WebGPU adapter (llvmpipe): never webgpu; native, and the line says why',
    has: { gpuPackage: MISSING, webgpu: found(LLVMPIPE), native: true, cpuPackage: LOADED },
    want: {
      info: NATIVE_INFO, imported: [GPU], backends: ['native'], warnings: [],
      infos: [`backend auto: native, since there is no GPU to use (${GPU} not installed; ` +
        'webgpu: only a software adapter (llvmpipe-llvm-15-0-6-256-bits-))'],
    },
  },
  {
    title: 'tfjs-node-gpu without a GPU device, no WebGPU adapter: native, one line saying why',
    has: { gpuPackage: LOADED, gpuDevice: false, webgpu: NO_VULKAN, native: true, cpuPackage: LOADED },
    want: {
      info: NATIVE_INFO, imported: [GPU], backends: ['native'], warnings: [],
      infos: [`backend auto: native, since there is no GPU to use (${GPU} loaded but sees no GPU device (${NEEDS}); ` +
        'webgpu: no Vulkan loader (libvulkan.so.1))'],
    },
  },
  {
    title: 'tfjs-node-gpu without a GPU device, no native: its libtensorflow on the CPU, tfjs-node not imported',
    has: { gpuPackage: LOADED, gpuDevice: false, native: false, cpuPackage: LOADED },
    want: {
      info: { name: 'tensorflow', requested: 'auto', detail: `${GPU} on the CPU (it sees no GPU device)` },
      imported: [GPU], backends: ['tensorflow'], warnings: [],
      infos: [`backend auto: tensorflow, ${GPU}'s libtensorflow on the CPU (${GPU} loaded but sees no GPU device ` +
        `(${NEEDS}); webgpu: package webgpu not installed; native: ${NO_NATIVE})`],
    },
  },
  {
    title: 'nothing GPU installed: native, and the one line says so (the usual CPU machine)',
    has: { gpuPackage: MISSING, native: true, cpuPackage: LOADED },
    want: {
      info: NATIVE_INFO, imported: [GPU], backends: ['native'], warnings: [],
      infos: [`backend auto: native, since there is no GPU to use (${GPU} not installed; webgpu: package webgpu not installed)`],
    },
  },
  {
    title: 'tfjs-node-gpu installed but failing to load: native, and the line gives the reason',
    has: { gpuPackage: BROKEN, webgpu: NO_VULKAN, native: true, cpuPackage: MISSING },
    want: {
      info: NATIVE_INFO, imported: [GPU], backends: ['native'], warnings: [],
      infos: [`backend auto: native, since there is no GPU to use (${GPU} does not load (${BROKEN.reason}) (${NEEDS}); ` +
        'webgpu: no Vulkan loader (libvulkan.so.1))'],
    },
  },
  {
    title: 'no tfjs-node-gpu, no WebGPU adapter, no native: tfjs-node',
    has: { gpuPackage: MISSING, webgpu: NO_VULKAN, native: false, cpuPackage: LOADED },
    want: {
      info: { name: 'tensorflow', requested: 'auto', detail: `${CPU} on the CPU` },
      imported: [GPU, CPU], backends: ['tensorflow'], warnings: [],
      infos: [`backend auto: tensorflow, ${CPU} on the CPU (${GPU} not installed; webgpu: no Vulkan loader ` +
        `(libvulkan.so.1); native: ${NO_NATIVE})`],
    },
  },
];

describe('selectBackend auto, with injected loaders', () => {
  for (const c of AUTO_CASES) {
    it(c.title, async () => {
      expect(await outcome('auto', c.has)).to.deep.equal(c.want);
    });
  }

  it('nothing fast: cpu with exactly one warning line naming what is missing and the fix', async () => {
    const got = await outcome('auto', { gpuPackage: MISSING, webgpu: found(LLVMPIPE), native: false, cpuPackage: MISSING });
    expect(got.info).to.deep.equal({ name: 'cpu', requested: 'auto', detail: 'pure-JS tfjs cpu backend (slow)' });
    expect(got.backends).to.deep.equal(['cpu']);
    expect(got.infos).to.deep.equal([]);
    expect(got.warnings).to.have.length(1);
    expect(got.warnings[0]).to.include(`(${GPU} not installed; webgpu: only a software adapter (llvmpipe-llvm-15-0-6-256-bits-); ` +
      `native: ${NO_NATIVE}; ${CPU}: not installed)`)
      .and.match(/very slow/).and.include('apt-get install libdnnl-dev').and.not.include('\n');
  });

  it('the line goes to warn when the caller gives no info callback', async () => {
    const m = fakeMachine({ gpuPackage: LOADED, gpuDevice: false, native: true, cpuPackage: MISSING });
    const warnings: string[] = [];
    await selectBackend('auto', { threads: 2, warn: (l) => warnings.push(l) }, m.deps);
    expect(warnings).to.have.length(1);
    expect(warnings[0]).to.match(/^backend auto: native, since there is no GPU to use/);
  });

  it('asks Dawn for webgpu.adapter by name, and never for the OpenGL ES (software) fallback', async () => {
    const m = fakeMachine({ gpuPackage: MISSING, webgpu: found(RTX), native: true, cpuPackage: MISSING });
    await selectBackend('auto', collecting({ webgpuAdapter: 'RTX' }).opts, m.deps);
    expect(m.adapterRequests).to.deep.equal([{ name: 'RTX', glesFallback: false }]);
  });
});

describe('selectBackend explicit, with injected loaders', () => {
  const nothing = () => fakeMachine({ gpuPackage: MISSING, native: false, cpuPackage: MISSING });
  const rejection = (p: Promise<unknown>) => p.then(() => undefined, (e: unknown) => e);

  it("'tensorflow' missing is a UserError naming both packages and how to get them", async () => {
    const err = await rejection(selectBackend('tensorflow', collecting().opts, nothing().deps));
    expect(err).to.be.instanceOf(UserError);
    expect((err as UserError).message).to.include(`backend 'tensorflow' is not available ` +
      `(${GPU}: not installed; ${CPU}: not installed); npm install --save-prod ${GPU} (CUDA 11.2 + cuDNN 8.1) or ` +
      `npm install ${CPU}`);
  });

  it("'native' missing is a UserError naming why and how to get it", async () => {
    const err = await rejection(selectBackend('native', collecting().opts, nothing().deps));
    expect(err).to.be.instanceOf(UserError);
    expect((err as UserError).message).to.include(`backend 'native' is not available (${NO_NATIVE})`)
      .and.include('apt-get install libdnnl-dev');
  });

  it("'webgpu' takes a software adapter (with the OpenGL ES fallback), warns that it is slow, records the adapter", async () => {
    const m = fakeMachine({ gpuPackage: MISSING, webgpu: NO_VULKAN, webgpuWithGles: found(LLVMPIPE), native: true, cpuPackage: MISSING });
    const { opts, warnings, infos } = collecting({ webgpuAdapter: 'llvmpipe' });
    const info = await selectBackend('webgpu', opts, m.deps);
    const llvmpipe = 'llvmpipe-llvm-15-0-6-256-bits-, OpenGL version OpenGL ES 3.2 Mesa 22.3.6 (opengles, compatibility mode, software)';
    expect(info).to.deep.equal({ name: 'webgpu', requested: 'webgpu', detail: `Dawn on ${llvmpipe}`, adapter: LLVMPIPE });
    expect(m.adapterRequests).to.deep.equal([{ name: 'llvmpipe', glesFallback: true }]);
    expect(m.imported).to.deep.equal([]);
    expect(m.backends).to.deep.equal(['(webgpu registered)', 'webgpu']);
    expect(infos).to.deep.equal([]);
    expect(warnings).to.deep.equal([`warning: backend webgpu: ${llvmpipe} is a software renderer on the CPU: ` +
      'results are right, speed is far below the native backend']);
  });

  it("'webgpu' takes a hardware adapter without a warning", async () => {
    const got = await outcome('webgpu', { gpuPackage: MISSING, webgpu: found(RTX), native: true, cpuPackage: MISSING });
    expect(got).to.deep.equal({
      info: { ...RTX_INFO, requested: 'webgpu' }, imported: [], backends: ['(webgpu registered)', 'webgpu'], infos: [], warnings: [],
    });
  });

  for (const [why, search] of [['not installed', WEBGPU_MISSING], ['no adapter', NO_VULKAN]] as const) {
    it(`'webgpu' unavailable (${why}) is a UserError naming why and what it needs`, async () => {
      const m = fakeMachine({ gpuPackage: MISSING, webgpu: search, native: true, cpuPackage: MISSING });
      const err = await rejection(selectBackend('webgpu', collecting().opts, m.deps));
      expect(err).to.be.instanceOf(UserError);
      const reason = search.status === 'missing' ? 'package webgpu not installed' : 'no Vulkan loader (libvulkan.so.1)';
      expect((err as UserError).message).to.include(`backend 'webgpu' is not available (${reason}); npm install gives the ` +
        'optional package webgpu').and.include('apt-get install libegl-dev libgl1-mesa-dri');
    });
  }

  it("'tensorflow' takes tfjs-node-gpu without a GPU, and the detail says it runs on the CPU", async () => {
    const got = await outcome('tensorflow', { gpuPackage: LOADED, gpuDevice: false, native: true, cpuPackage: LOADED });
    expect(got).to.deep.equal({
      info: { name: 'tensorflow', requested: 'tensorflow', detail: `${GPU} on the CPU (it sees no GPU device)` },
      imported: [GPU], backends: ['tensorflow'], infos: [], warnings: [],
    });
  });
});
