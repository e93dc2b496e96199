// Backend selection: auto takes tfjs-node-gpu only on a GPU, then native, tfjs-node, cpu; explicit misses are errors.
import * as tf from '@tensorflow/tfjs';
import { expect } from 'chai';

import { isNotInstalled, type PackageLoad, type SelectDeps } from '../../src/backend/loaders.js';
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
const NO_GPU_LINE =
  `backend: ${GPU} loaded but sees no GPU device; it needs an NVIDIA GPU with CUDA 11.2 + cuDNN 8.1; using native`;

/** What a fake machine has. */
interface Machine {
  gpuPackage: PackageLoad;
  /** Whether libtensorflow, once tfjs-node-gpu loaded, finds a GPU device. */
  gpuDevice?: boolean;
  native: boolean;
  cpuPackage: PackageLoad;
}

/** Loaders for a fake machine; records what selection imported and which backends it set. */
function fakeMachine(has: Machine): { deps: SelectDeps; imported: string[]; backends: string[] } {
  const imported: string[] = [];
  const backends: string[] = [];
  let loaded: string | undefined; // the first package that loaded owns the 'tensorflow' backend
  let nativeThreads = 0;
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
    setBackend: async (name) => {
      backends.push(name);
    },
  };
  return { deps, imported, backends };
}

/** Options that collect the warning and info lines. */
function collecting(): { opts: SelectOptions; warnings: string[]; infos: string[] } {
  const warnings: string[] = [];
  const infos: string[] = [];
  return { opts: { threads: 2, warn: (l) => warnings.push(l), info: (l) => infos.push(l) }, warnings, infos };
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
    title: 'tfjs-node-gpu that sees a GPU: tensorflow, nothing else tried, no lines',
    has: { gpuPackage: LOADED, gpuDevice: true, native: true, cpuPackage: LOADED },
    want: {
      info: { name: 'tensorflow', requested: 'auto', detail: `${GPU} on the GPU` },
      imported: [GPU], backends: ['tensorflow'], infos: [], warnings: [],
    },
  },
  {
    title: 'tfjs-node-gpu without a GPU device: native, and one info line saying why',
    has: { gpuPackage: LOADED, gpuDevice: false, native: true, cpuPackage: LOADED },
    want: { info: NATIVE_INFO, imported: [GPU], backends: ['native'], infos: [NO_GPU_LINE], warnings: [] },
  },
  {
    title: 'tfjs-node-gpu without a GPU device, no native: its libtensorflow on the CPU, tfjs-node not imported',
    has: { gpuPackage: LOADED, gpuDevice: false, native: false, cpuPackage: LOADED },
    want: {
      info: { name: 'tensorflow', requested: 'auto', detail: `${GPU} on the CPU (it sees no GPU device)` },
      imported: [GPU], backends: ['tensorflow'], warnings: [],
      infos: [`backend: ${GPU} loaded but sees no GPU device; it needs an NVIDIA GPU with CUDA 11.2 + cuDNN 8.1; ` +
        `using its libtensorflow on the CPU (native: ${NO_NATIVE})`],
    },
  },
  {
    title: 'tfjs-node-gpu not installed: native, silently (the usual CPU machine)',
    has: { gpuPackage: MISSING, native: true, cpuPackage: LOADED },
    want: { info: NATIVE_INFO, imported: [GPU], backends: ['native'], infos: [], warnings: [] },
  },
  {
    title: 'tfjs-node-gpu installed but failing to load: native, and one info line with the reason',
    has: { gpuPackage: BROKEN, native: true, cpuPackage: MISSING },
    want: {
      info: NATIVE_INFO, imported: [GPU], backends: ['native'], warnings: [],
      infos: [`backend: ${GPU} does not load (${BROKEN.reason}); it needs an NVIDIA GPU with CUDA 11.2 + cuDNN 8.1; ` +
        'using native'],
    },
  },
  {
    title: 'no tfjs-node-gpu and no native: tfjs-node',
    has: { gpuPackage: MISSING, native: false, cpuPackage: LOADED },
    want: {
      info: { name: 'tensorflow', requested: 'auto', detail: `${CPU} on the CPU` },
      imported: [GPU, CPU], backends: ['tensorflow'], infos: [], warnings: [],
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
    const got = await outcome('auto', { gpuPackage: MISSING, native: false, cpuPackage: MISSING });
    expect(got.info).to.deep.equal({ name: 'cpu', requested: 'auto', detail: 'pure-JS tfjs cpu backend (slow)' });
    expect(got.backends).to.deep.equal(['cpu']);
    expect(got.infos).to.deep.equal([]);
    expect(got.warnings).to.have.length(1);
    expect(got.warnings[0]).to.include(`(native: ${NO_NATIVE}; ${CPU}: not installed)`)
      .and.match(/very slow/).and.include('apt-get install libdnnl-dev').and.not.include('\n');
  });

  it('the info line goes to warn when the caller gives no info callback', async () => {
    const m = fakeMachine({ gpuPackage: LOADED, gpuDevice: false, native: true, cpuPackage: MISSING });
    const warnings: string[] = [];
    await selectBackend('auto', { threads: 2, warn: (l) => warnings.push(l) }, m.deps);
    expect(warnings).to.deep.equal([NO_GPU_LINE]);
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

  it("'tensorflow' takes tfjs-node-gpu without a GPU, and the detail says it runs on the CPU", async () => {
    const got = await outcome('tensorflow', { gpuPackage: LOADED, gpuDevice: false, native: true, cpuPackage: LOADED });
    expect(got).to.deep.equal({
      info: { name: 'tensorflow', requested: 'tensorflow', detail: `${GPU} on the CPU (it sees no GPU device)` },
      imported: [GPU], backends: ['tensorflow'], infos: [], warnings: [],
    });
  });
});
