// train.precision: validation, where bf16 may run (fakes), a refusal at start, and a tiny bf16 run that learns and resumes exactly.
import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';

import { ADDON_PATH_ENV, addonPath, loadAddon } from '../../src/backend/native/addon.js';
import { applyPrecision, resolvePrecision, type Precision, type PrecisionDeps } from '../../src/backend/precision.js';
import type { Config } from '../../src/config/schema.js';
import { UserError } from '../../src/errors.js';
import { runTraining } from '../../src/train/run.js';
import type { RunSummary } from '../../src/run/summary.js';
import { nativeReady } from '../backend/helpers.js';
import { needsNative } from '../requires.js';
import { deterministicColumns, microConfig, quadrantConfig, writeQuadrantFolder } from './helpers.js';

/** A machine whose native backend reports `isa`, with or without bf16; records the precisions it was set to. */
function fakeNative(isa: string, supported: boolean): PrecisionDeps & { set: Precision[] } {
  const set: Precision[] = [];
  return { set, nativeBf16: () => ({ isa, supported }), setNativePrecision: (p) => void set.push(p) };
}

describe('train.precision', () => {
  it('defaults to fp32; takes fp32, bf16, auto; anything else fails with the key path', () => {
    expect(microConfig('/tmp/x').train.precision).to.equal('fp32');
    for (const p of ['fp32', 'bf16', 'auto']) expect(microConfig('/tmp/x', [`train.precision=${p}`]).train.precision).to.equal(p);
    expect(() => microConfig('/tmp/x', ['train.precision=fp16']))
      .to.throw(UserError, /train\.precision: .*"fp32".*"bf16".*"auto"/).with.property('exitCode', 2);
  });

  it('bf16 runs on the native backend of a CPU with bf16; elsewhere it is an error naming what is missing', () => {
    expect(resolvePrecision('bf16', 'native', fakeNative('avx512_core_bf16', true))).to.deep.equal({ precision: 'bf16' });
    expect(resolvePrecision('fp32', 'native', fakeNative('avx512_core_bf16', true))).to.deep.equal({ precision: 'fp32' });
    expect(() => resolvePrecision('bf16', 'native', fakeNative('avx2', false))).to.throw(UserError).with.property('message',
      'train.precision: bf16 needs a CPU with AVX512_BF16 or AMX (grep -o avx512_bf16 /proc/cpuinfo); oneDNN reports ISA avx2 ' +
      'here, without bf16; use train.precision: fp32 (or auto)');
    for (const backend of ['cpu', 'tensorflow']) {
      expect(() => resolvePrecision('bf16', backend, fakeNative('avx512_core_bf16', true))).to.throw(UserError).with.property('message',
        `train.precision: bf16 runs on the native (oneDNN) backend only, and this run uses '${backend}'; set backend: native, or train.precision: fp32`);
    }
  });

  it('auto: bf16 where it runs, else fp32 with one line saying why', () => {
    expect(resolvePrecision('auto', 'native', fakeNative('avx512_core_amx', true))).to.deep.equal({ precision: 'bf16' });
    expect(resolvePrecision('auto', 'native', fakeNative('avx2', false))).to.deep.equal({
      precision: 'fp32', note: 'train.precision auto: fp32 (oneDNN reports ISA avx2 here, without AVX512_BF16 or AMX)',
    });
    expect(resolvePrecision('auto', 'cpu', fakeNative('avx512_core_bf16', true))).to.deep.equal({
      precision: 'fp32', note: "train.precision auto: fp32 (bf16 needs the native backend; this run uses 'cpu')",
    });
  });

  it('is applied to the native backend every run (fp32 undoes an earlier bf16), never to the others', () => {
    const native = fakeNative('avx512_core_bf16', true);
    const lines: string[] = [];
    expect(applyPrecision('bf16', 'native', (l) => lines.push(l), native)).to.equal('bf16');
    expect(applyPrecision('fp32', 'native', (l) => lines.push(l), native)).to.equal('fp32');
    expect(native.set).to.deep.equal(['bf16', 'fp32']);
    const other = fakeNative('avx2', false);
    expect(applyPrecision('auto', 'cpu', (l) => lines.push(l), other)).to.equal('fp32');
    expect(other.set).to.deep.equal([]);
    expect(lines).to.deep.equal(["train.precision auto: fp32 (bf16 needs the native backend; this run uses 'cpu')"]);
  });
});

describe('bf16 training on the native backend', function () {
  this.timeout(120_000);
  let root: string;
  let supported = false;

  before(function () {
    needsNative(this, nativeReady());
    supported = loadAddon()!.bf16Supported?.() ?? false;
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'gaplab-bf16-'));
    writeQuadrantFolder(root, 300, 100);
  });
  after(async () => {
    loadAddon()?.setPrecision?.('fp32');
    loadAddon()?.setConvLayout('auto');
    await tf.setBackend('cpu');
    if (root) fs.rmSync(root, { recursive: true, force: true });
  });

  const quiet = { log: () => {}, warn: () => {}, live: false };
  /** The quadrant task, which a run learns in 10 epochs. */
  function learnable(precision: Precision): Config {
    return quadrantConfig(root, 1, ['backend=native', `train.precision=${precision}`, `outputDir=${path.join(root, precision)}`]);
  }
  /** 4 epochs of 4 batches, a checkpoint after every batch. */
  function micro(name: string): Config {
    return microConfig(path.join(root, name), ['backend=native', 'train.precision=bf16', 'train.epochs=4', 'train.checkpointMinutes=0.00001']);
  }
  /** Runs with the blocked layout fixed, so that every convolution runs in bf16 (auto mode may keep these tiny ones in
   *  fp32, where that measured faster). */
  async function train(cfg: Config, opts: Partial<Parameters<typeof runTraining>[1]> = {}): Promise<RunSummary> {
    process.env.GAPLAB_CONV_LAYOUT = 'blocked';
    try {
      return await runTraining(cfg, { ...quiet, ...opts });
    } finally {
      delete process.env.GAPLAB_CONV_LAYOUT;
    }
  }

  it('without bf16 in the CPU, train.precision: bf16 stops the run at start with the UserError naming the ISA (oneDNN capped at AVX2)', () => {
    const file = path.join(root, 'refused.yaml');
    fs.writeFileSync(file, `backend: native\noutputDir: ${JSON.stringify(path.join(root, 'refused'))}\ntrain: { precision: bf16, epochs: 1 }\n`);
    const res = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/train.ts', '--config', file], {
      encoding: 'utf8', env: { ...process.env, DNNL_MAX_CPU_ISA: 'AVX2', [ADDON_PATH_ENV]: addonPath() },
    });
    expect(res.status, res.stderr).to.equal(2);
    const errLines = res.stderr.trim().split('\n');
    expect(errLines.at(-1)).to.contain('train.precision: bf16 needs a CPU with AVX512_BF16 or AMX');
    expect(errLines.at(-1)).to.contain('oneDNN reports ISA avx2 here');
    expect(res.stderr).to.not.contain('    at '); // no stack trace
  });

  it('a tiny bf16 run learns, records precision bf16, saves fp32 weights, and differs from fp32 in the last bits', async function () {
    if (!supported) {
      // This CPU has no bf16: the run must refuse at start rather than train in fp32 under a bf16 label.
      let err: unknown;
      await train(learnable('bf16')).catch((e: unknown) => (err = e));
      expect(err).to.be.instanceOf(UserError);
      expect((err as Error).message).to.contain('needs a CPU with AVX512_BF16 or AMX');
      return;
    }
    const history: Array<{ val_acc: number; train_loss: number }> = [];
    const bf16 = await train(learnable('bf16'), { callbacks: [{ onEpochEnd: (l) => void history.push(l) }] });
    expect(bf16.status).to.equal('completed');
    expect(bf16.precision).to.equal('bf16');
    const saved = JSON.parse(fs.readFileSync(path.join(bf16.runDir, 'summary.json'), 'utf8')) as RunSummary;
    expect(saved.precision).to.equal('bf16');
    // As the quadrant task on the cpu backend (test/train/cpu-learns.test.ts): from near chance (1/4) to solved.
    expect(history[0]!.val_acc, 'after one epoch it is still far from solved').to.be.lessThan(0.6);
    expect(history.at(-1)!.val_acc).to.be.at.least(0.9);
    expect(history.at(-1)!.train_loss).to.be.lessThan(0.3 * history[0]!.train_loss);
    // The saved model and the checkpoint's weights and optimizer slots: float32 only.
    const json = (...p: string[]) => JSON.parse(fs.readFileSync(path.join(bf16.runDir, ...p), 'utf8')) as unknown;
    const model = json('model', 'model.json') as { weightsManifest: Array<{ weights: Array<{ dtype: string }> }> };
    const specs = [
      ...model.weightsManifest.flatMap((g) => g.weights),
      ...(json('checkpoint', 'weights.bin.json') as Array<{ dtype: string }>),
      ...(json('checkpoint', 'optimizer.bin.json') as Array<{ dtype: string }>),
    ];
    expect(specs.length).to.be.above(8);
    expect([...new Set(specs.map((w) => w.dtype))]).to.deep.equal(['float32']);
    const fp32 = await train(learnable('fp32'));
    expect(fp32.precision).to.equal('fp32');
    expect(deterministicColumns(bf16.runDir)).to.not.deep.equal(deterministicColumns(fp32.runDir));
  });

  it('an interrupted bf16 run resumes from its checkpoint to the same metrics as an uninterrupted one', async function () {
    if (!supported) {
      expect(() => loadAddon()!.setPrecision!('bf16')).to.throw(/AVX512_BF16 or AMX/);
      return;
    }
    const reference = await train(micro('ref'));
    const stop = new AbortController();
    let batches = 0;
    const first = await train(micro('resumed'), {
      signal: stop.signal,
      callbacks: [{ onBatchEnd: () => void (++batches === 10 && stop.abort()) }],
    });
    expect(first.status).to.equal('interrupted');
    const resumed = await train(micro('resumed'), { runDir: first.runDir, resume: true });
    expect(resumed.status).to.equal('completed');
    expect(resumed.precision).to.equal('bf16');
    expect(deterministicColumns(resumed.runDir)).to.deep.equal(deterministicColumns(reference.runDir));
    expect(resumed.test).to.deep.equal(reference.test);
  });
});
