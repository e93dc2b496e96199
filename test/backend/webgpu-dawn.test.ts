// Dawn adapter discovery: software adapters told from hardware ones, load failures, webgpu.adapter by name, the list.
import * as tf from '@tensorflow/tfjs';
import { expect } from 'chai';
import { spawnSync } from 'node:child_process';

import { describeAdapter, findAdapter, isSoftwareAdapter, listAdapters, loadDawn, type AdapterSummary } from '../../src/backend/webgpu/dawn.js';
import { applyOverrides, configToYaml, validateConfig } from '../../src/config/load.js';
import { UserError } from '../../src/errors.js';
import { writeRunConfig } from '../../src/run/config.js';
import { runTraining } from '../../src/train/run.js';
import { removeDir, tempDir } from '../data/helpers.js';
import { microConfig } from '../train/helpers.js';
import { needsWebgpu } from './webgpu-helpers.js';

const info = (device: string, description = '', vendor = '', architecture = '', isFallbackAdapter = false) =>
  ({ vendor, architecture, device, description, isFallbackAdapter });

describe('webgpu: adapters', () => {
  it('software renderers (llvmpipe, lavapipe, SwiftShader, WARP, the fallback and null adapters) are not GPUs', () => {
    const soft = [
      info('llvmpipe-llvm-15-0-6-256-bits-', 'OpenGL version OpenGL ES 3.2 Mesa 22.3.6'),
      info('llvmpipe (LLVM 17.0.6, 256 bits)', 'Mesa 24.0.5', 'mesa', 'llvmpipe'),
      info('lavapipe', '', 'mesa'),
      info('SwiftShader Device (Subzero)', '', 'google'),
      info('Microsoft Basic Render Driver', 'D3D12'),
      info('null-backend'),
      info('Some Device', '', '', '', true),
    ];
    const hard = [
      info('NVIDIA GeForce RTX 3090', 'NVIDIA: 550.54.14', 'nvidia', 'ampere'),
      info('AMD Radeon RX 7900 XTX (RADV NAVI31)', 'radv Mesa 24.0.5', 'amd', 'rdna-3'),
      info('Intel(R) Arc(tm) A770 Graphics (DG2)', 'Intel open-source Mesa driver', 'intel', 'gen-12hp'),
      info('Apple M2 Max', '', 'apple', 'metal-3'),
    ];
    expect(soft.map(isSoftwareAdapter)).to.deep.equal(soft.map(() => true));
    expect(hard.map(isSoftwareAdapter)).to.deep.equal(hard.map(() => false));
  });

  it('describes an adapter in one line, leaving out what it leaves empty', () => {
    const rtx: AdapterSummary = { api: 'vulkan', featureLevel: 'core', vendor: 'nvidia', architecture: 'ampere', device: 'NVIDIA GeForce RTX 3090', description: 'NVIDIA: 550.54.14', software: false };
    expect(describeAdapter(rtx)).to.equal('nvidia ampere: NVIDIA GeForce RTX 3090, NVIDIA: 550.54.14 (vulkan)');
    expect(describeAdapter({ ...rtx, api: 'opengles', featureLevel: 'compatibility', vendor: '', architecture: '', software: true }))
      .to.equal('NVIDIA GeForce RTX 3090, NVIDIA: 550.54.14 (opengles, compatibility mode, software)');
  });

  it('a webgpu package that is absent, or present but failing to load, is reported in one line', async () => {
    const absent = Object.assign(new Error("Cannot find package 'webgpu' imported from /x/dawn.ts"), { code: 'ERR_MODULE_NOT_FOUND' });
    expect(await findAdapter({ glesFallback: true }, () => Promise.reject(absent))).to.deep.equal({ status: 'missing', reason: 'not installed' });
    const broken = new Error('/x/node_modules/webgpu/dist/linux-x64/dawn.node: GLIBC_2.38 not found\n    at Module._extensions');
    expect(await findAdapter({ glesFallback: true }, () => Promise.reject(broken)))
      .to.deep.equal({ status: 'broken', reason: '/x/node_modules/webgpu/dist/linux-x64/dawn.node: GLIBC_2.38 not found' });
  });
});

describe('webgpu: config', () => {
  it('webgpu.adapter is optional: configs without it resolve (and write config.yaml) as before; a typo is an error', () => {
    const plainConfig = validateConfig(applyOverrides({}, ['backend=webgpu']), 'c.yaml');
    expect(plainConfig).to.not.have.property('webgpu');
    expect(configToYaml(plainConfig)).to.not.include('webgpu:');
    expect(validateConfig(applyOverrides({}, ['webgpu.adapter=RTX 3090']), 'c.yaml').webgpu).to.deep.equal({ adapter: 'RTX 3090' });
    expect(() => validateConfig(applyOverrides({}, ['webgpu.adaptor=RTX']), 'c.yaml')).to.throw(UserError, /webgpu/);
  });
});

describe('webgpu: adapters Dawn finds on this machine', function () {
  let found: AdapterSummary;
  before(async function () {
    found = (await needsWebgpu(this)).adapter!;
  });
  after(() => tf.setBackend('cpu'));

  it('webgpu.adapter picks by part of the device name; a name nothing matches is a UserError listing the adapters', async () => {
    const part = found.device.slice(0, 16); // GPUAdapterInfo's normalized name, e.g. 'llvmpipe-llvm-15'
    const again = await findAdapter({ name: part, glesFallback: true });
    expect(again.status === 'found' && again.adapter).to.deep.equal(found);
    const err = await findAdapter({ name: 'gaplab-no-such-gpu', glesFallback: true }).then(() => undefined, (e: unknown) => e);
    expect(err).to.be.instanceOf(UserError);
    expect((err as Error).message).to.match(/^webgpu\.adapter: no adapter's name contains 'gaplab-no-such-gpu'; Dawn lists: /)
      .and.include(`'${found.device.split('-')[0]}`);
  });

  it("a run passes webgpu.adapter on: one that names no adapter fails the run with that UserError", async () => {
    const dir = tempDir('gaplab-webgpu-adapter-');
    try {
      const cfg = microConfig(dir, ['backend=webgpu', 'webgpu.adapter=gaplab-no-such-gpu']);
      const err = await runTraining(cfg, { log: () => {}, warn: () => {}, live: false }).then(() => undefined, (e: unknown) => e);
      expect(err).to.be.instanceOf(UserError);
      expect((err as Error).message).to.match(/^webgpu\.adapter: no adapter's name contains 'gaplab-no-such-gpu'/);
    } finally {
      removeDir(dir);
    }
  });

  it("npm run cam takes the run's webgpu.adapter, and --webgpu-adapter over it", () => {
    const dir = tempDir('gaplab-webgpu-cam-');
    try {
      writeRunConfig(dir, validateConfig(applyOverrides({}, ['webgpu.adapter=gaplab-no-such-gpu']), 'c.yaml'));
      const cam = (...args: string[]) =>
        spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/cam.ts', '--run', dir, '--backend', 'webgpu', ...args], { encoding: 'utf8' });
      const own = cam();
      expect(own.status, own.stderr).to.equal(2);
      expect(own.stderr).to.match(/webgpu\.adapter: no adapter's name contains 'gaplab-no-such-gpu'/);
      // An adapter that exists: backend selection passes, and the folder's missing model is the next complaint.
      const over = cam('--webgpu-adapter', found.device.slice(0, 8));
      expect(over.status, over.stderr).to.equal(2);
      expect(over.stderr).to.contain('no final model (model/model.json is missing');
    } finally {
      removeDir(dir);
    }
  });

  it('lists the adapters Dawn sees, the one in use among them; small tensors stay on the GPU (WEBGPU_CPU_FORWARD off)', async () => {
    const list = await listAdapters(await loadDawn());
    expect(list.map((a) => a.api)).to.include(found.api);
    expect(tf.env().getBool('WEBGPU_CPU_FORWARD')).to.equal(false);
  });
});
