// Damaged checkpoints: every file checked before use (schema, sha256, manifests, byte counts), named when bad, the
// previous checkpoint used instead when there is one, and a failed resume leaves the run folder as it found it.
import { expect } from 'chai';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import type { Config } from '../../src/config/schema.js';
import { UserError } from '../../src/errors.js';
import type { EpochLogs } from '../../src/run/metrics.js';
import { PART_FILES } from '../../src/train/checkpoint-state.js';
import {
  disposeCheckpoint, readCheckpoint, writeCheckpoint, type Checkpoint, type CheckpointState,
} from '../../src/train/checkpoint.js';
import { RUN_FILES } from '../../src/run/files.js';
import { createOptimizer, type Optimizer } from '../../src/train/optimizer.js';
import { runTraining } from '../../src/train/run.js';
import { trainableVariables } from '../../src/train/step.js';
import { readSummary } from '../../src/run/summary.js';
import { damage, DAMAGES, fsEvents, snapshot, trainCli } from './fault-helpers.js';
import { deterministicColumns, microConfig } from './helpers.js';

const { newestCheckpoint: CHECKPOINT_DIR, previousCheckpoint: PREVIOUS_CHECKPOINT_DIR } = RUN_FILES;

const FILES = ['state.json', ...PART_FILES];
const quiet = { log: () => {}, warn: () => {}, live: false };
const tmp = (prefix: string) => fs.mkdtempSync(path.join(os.tmpdir(), `gaplab-${prefix}-`));

/** Rewrites a checkpoint's state.json as format 1 wrote it: no `files` (no checksums). */
function makeFormat1(dir: string): void {
  const file = path.join(dir, 'state.json');
  const s = JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown>;
  delete s.files;
  fs.writeFileSync(file, JSON.stringify({ ...s, format: 1 }));
}

function editState(dir: string, edit: (s: Record<string, unknown>) => void): void {
  const file = path.join(dir, 'state.json');
  const s = JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown>;
  edit(s);
  fs.writeFileSync(file, JSON.stringify(s));
}

describe('checkpoint integrity (a two-layer model, Adam)', () => {
  const row = (epoch: number): EpochLogs => ({
    epoch, lr: 0.1, train_loss: 1, train_acc: 0.5, train_eval_loss: 1, train_eval_acc: 0.5, val_loss: 1, val_acc: 0.5,
    gap_acc: 0, gap_loss: 0, epoch_seconds: 1, train_eval_seconds: 0, images_per_second: NaN,
  });
  let model: tf.LayersModel;
  let vars: tf.Variable[];
  let optimizer: Optimizer;
  /** checkpoint/ at epoch 2 (weights + 1) and checkpoint.old at epoch 1 (the model's weights). */
  let template: string;
  let epoch1Kernel: number[];
  const state = (epoch: number): Omit<CheckpointState, 'format' | 'savedAt' | 'files'> => ({
    epoch, batch: 0, accum: { lossSum: 0, correct: 0, seen: 0, seconds: 0 }, history: Array.from({ length: epoch }, (_, i) => row(i + 1)),
    schedule: { plateauLr: 0.1, best: Infinity, bad: 0 }, earlyStopping: { best: NaN, wait: 0 }, best: row(1),
    optimizerStep: 1, configSha256: 'c0ffee',
  });

  before(async () => {
    model = tf.sequential({ layers: [tf.layers.dense({ inputShape: [3], units: 4 }), tf.layers.dense({ units: 2 })] });
    vars = trainableVariables(model);
    optimizer = createOptimizer(microConfig(tmp('unused'), ['train.optimizer.name=adam']).train.optimizer, 0);
    optimizer.apply(vars, Object.fromEntries(vars.map((v) => [v.name, tf.onesLike(v)])), new Set());
    template = tmp('ckint');
    const w = model.getWeights();
    epoch1Kernel = Array.from(w[0].dataSync());
    await writeCheckpoint(template, state(1), w, w, optimizer, vars);
    const plus1 = w.map((t) => t.add(1));
    await writeCheckpoint(template, state(2), plus1, w, optimizer, vars);
    tf.dispose(plus1);
  });

  after(() => {
    model.dispose();
    optimizer.dispose();
  });

  /** A copy of the template; `withPrevious` false removes checkpoint.old. */
  function copy(withPrevious: boolean): string {
    const dir = tmp('ckcase');
    fs.cpSync(template, dir, { recursive: true });
    if (!withPrevious) fs.rmSync(path.join(dir, PREVIOUS_CHECKPOINT_DIR), { recursive: true });
    return dir;
  }

  /** readCheckpoint's result (disposed) and warnings, or the error it threw. */
  function read(runDir: string): { state?: CheckpointState; kernel?: number[]; warnings: string[]; error?: Error } {
    const warnings: string[] = [];
    const before = tf.memory().numTensors;
    let c: Checkpoint;
    try {
      c = readCheckpoint(runDir, { model, vars, optimizer }, (l) => warnings.push(l));
    } catch (e) {
      expect(tf.memory().numTensors, 'tensors left behind by a failed read').to.equal(before);
      return { warnings, error: e as Error };
    }
    const kernel = Array.from(c.weights[0].dataSync());
    expect(Object.keys(c.optimizer.slots)).to.have.length(vars.length);
    disposeCheckpoint(c);
    return { state: c.state, kernel, warnings };
  }

  it('fsyncs every file and the folder before the rename that publishes it, then the run folder', async () => {
    const runDir = copy(true);
    const w = model.getWeights();
    const events = await fsEvents(() => writeCheckpoint(runDir, state(2), w, w, optimizer, vars));
    const tmpDir = path.join(runDir, `${CHECKPOINT_DIR}.tmp`);
    const publish = events.indexOf(`rename ${tmpDir}`);
    expect(publish, events.join('\n')).to.be.above(0);
    const before = events.slice(0, publish);
    for (const f of FILES) expect(before, f).to.include(`fsync ${path.join(tmpDir, f)}`);
    // The folder itself (its entries), then the swap: checkpoint/ becomes checkpoint.old, checkpoint.tmp checkpoint/.
    expect(before.slice(-2)).to.deep.equal([`fsync ${tmpDir}`, `rename ${path.join(runDir, CHECKPOINT_DIR)}`]);
    expect(events.slice(publish + 1)).to.deep.equal([`fsync ${runDir}`]);
  });

  it('reads an intact checkpoint: the newest, no warning', () => {
    const r = read(copy(true));
    expect(r.error).to.equal(undefined);
    expect(r.state?.epoch).to.equal(2);
    expect(r.kernel).to.deep.equal(epoch1Kernel.map((x) => Math.fround(x + 1)));
    expect(r.warnings).to.deep.equal([]);
  });

  for (const file of FILES) {
    it(`${file} truncated, garbage or empty: an error naming it; with a previous checkpoint, that one and one line`, () => {
      for (const [how, fn] of Object.entries(DAMAGES)) {
        const alone = copy(false);
        const bad = path.join(alone, CHECKPOINT_DIR, file);
        damage(bad, fn);
        const r = read(alone);
        expect(r.error, `${file} ${how}`).to.be.instanceOf(UserError);
        expect((r.error as UserError).exitCode).to.equal(2);
        expect(r.error!.message, `${file} ${how}`).to.match(new RegExp(`^cannot resume: ${bad}: .*; there is no previous checkpoint to fall back to$`));
        expect(r.error!.message).to.not.contain('\n');

        const both = copy(true);
        damage(path.join(both, CHECKPOINT_DIR, file), fn);
        const f = read(both);
        expect(f.error, `${file} ${how}`).to.equal(undefined);
        expect(f.state?.epoch, `${file} ${how}: the previous checkpoint's position`).to.equal(1);
        expect(f.kernel, `${file} ${how}: the previous checkpoint's weights`).to.deep.equal(epoch1Kernel);
        expect(f.warnings).to.have.length(1);
        expect(f.warnings[0]).to.match(new RegExp(`^${path.join(both, CHECKPOINT_DIR, file)}: .*; resuming from the previous checkpoint \\(${path.join(both, PREVIOUS_CHECKPOINT_DIR)}\\)$`));
      }
    });
  }

  it('random bytes of the right length in weights.bin: named as corrupt by its sha256', () => {
    const dir = copy(false);
    damage(path.join(dir, CHECKPOINT_DIR, 'weights.bin'), (b) => Buffer.from(b.map((x) => x ^ 0x5a)));
    expect(read(dir).error?.message).to.contain(`${path.join(dir, CHECKPOINT_DIR, 'weights.bin')}: corrupt (its sha256`);
  });

  it("optimizer.bin.json replaced by [] is an error, in both formats (it would drop Adam's state)", () => {
    const v2 = copy(false);
    fs.writeFileSync(path.join(v2, CHECKPOINT_DIR, 'optimizer.bin.json'), '[]');
    expect(read(v2).error?.message).to.contain('optimizer.bin.json: corrupt (its sha256');
    const v1 = copy(false);
    makeFormat1(path.join(v1, CHECKPOINT_DIR));
    fs.writeFileSync(path.join(v1, CHECKPOINT_DIR, 'optimizer.bin.json'), '[]');
    expect(read(v1).error?.message).to.contain('optimizer.bin.json: lists 0 tensors, expected 8');
  });

  it('format 1 (before checksums) is still read, with every check but the sha256', () => {
    const dir = copy(false);
    makeFormat1(path.join(dir, CHECKPOINT_DIR));
    const ok = read(dir);
    expect(ok.error).to.equal(undefined);
    expect(ok.state?.epoch).to.equal(2);
    const cases: Array<[string, (d: string) => void, string]> = [
      ['weights.bin truncated', (d) => damage(path.join(d, 'weights.bin'), DAMAGES.truncated), 'weights.bin: 52 bytes, its manifest describes 104'],
      ['best.bin with an extra float', (d) => damage(path.join(d, 'best.bin'), (b) => Buffer.concat([b, Buffer.alloc(4)])), 'best.bin: 108 bytes'],
      ['a kernel of another shape', (d) => damage(path.join(d, 'weights.bin.json'), (b) => Buffer.from(b.toString().replace('[3,4]', '[4,3]'))),
        "weights.bin.json: 'w0' is [4,3] float32, expected [3,4] float32"],
      ['no best weights though state.json has a best epoch', (d) => fs.writeFileSync(path.join(d, 'best.bin.json'), '[]'), 'best.bin.json: lists 0 tensors, expected 4'],
      ['weights.bin.json garbage', (d) => damage(path.join(d, 'weights.bin.json'), DAMAGES.garbage), 'weights.bin.json: not valid JSON'],
    ];
    for (const [what, hurt, message] of cases) {
      const d = copy(false);
      makeFormat1(path.join(d, CHECKPOINT_DIR));
      hurt(path.join(d, CHECKPOINT_DIR));
      expect(read(d).error?.message, what).to.contain(`${path.join(d, CHECKPOINT_DIR)}/${message}`);
    }
  });

  it('state.json with a field missing, of the wrong type or inconsistent: named with the field', () => {
    const cases: Array<[(s: Record<string, unknown>) => void, RegExp]> = [
      [(s) => delete s.schedule, /state\.json: not a checkpoint state \(schedule: /],
      [(s) => (s.epoch = '2'), /state\.json: not a checkpoint state \(epoch: /],
      [(s) => ((s.accum as Record<string, unknown>).seen = -1), /state\.json: not a checkpoint state \(accum\.seen: /],
      [(s) => ((s.history as Array<Record<string, unknown>>)[0].val_loss = 'x'), /state\.json: not a checkpoint state \(history\.0\.val_loss: /],
      [(s) => delete s.files, /state\.json: format 2 without 'files'/],
      [(s) => (s.format = 3), /state\.json: not a checkpoint state \(format: /],
      [(s) => (s.history as unknown[]).pop(), /state\.json: 1 history rows for a position in epoch 3/],
    ];
    for (const [edit, message] of cases) {
      const d = copy(false);
      editState(path.join(d, CHECKPOINT_DIR), edit);
      expect(read(d).error?.message).to.match(message);
    }
  });

  it('a missing file or folder is named; no checkpoint at all is its own message', () => {
    const d = copy(true);
    fs.rmSync(path.join(d, CHECKPOINT_DIR), { recursive: true });
    expect(read(d).warnings).to.deep.equal([
      `${path.join(d, CHECKPOINT_DIR)}: missing; resuming from the previous checkpoint (${path.join(d, PREVIOUS_CHECKPOINT_DIR)})`,
    ]);
    const e = copy(false);
    fs.rmSync(path.join(e, CHECKPOINT_DIR, 'best.bin'));
    expect(read(e).error?.message).to.contain(`${path.join(e, CHECKPOINT_DIR, 'best.bin')}: missing`);
    fs.rmSync(path.join(e, CHECKPOINT_DIR), { recursive: true });
    expect(read(e).error?.message).to.equal(`${e}: no checkpoint to resume from (it has no ${CHECKPOINT_DIR}/)`);
  });

  it('both checkpoints damaged: one error naming both', () => {
    const d = copy(true);
    damage(path.join(d, CHECKPOINT_DIR, 'weights.bin'), DAMAGES.garbage);
    damage(path.join(d, PREVIOUS_CHECKPOINT_DIR, 'state.json'), DAMAGES.truncated);
    expect(read(d).error?.message).to.match(
      new RegExp(`^cannot resume: ${path.join(d, CHECKPOINT_DIR, 'weights.bin')}: .*; the previous checkpoint is unusable too \\(${path.join(d, PREVIOUS_CHECKPOINT_DIR, 'state.json')}: not valid JSON`),
    );
  });
});

describe('resuming a run from a damaged checkpoint', function () {
  this.timeout(300_000);
  const sets = ['train.epochs=3', 'train.checkpointMinutes=0', 'train.optimizer.name=adam', 'train.optimizer.lr=0.01'];
  let reference: string[];
  /** A run interrupted one batch into epoch 3: checkpoint/ = (epoch 3, batch 1), checkpoint.old = end of epoch 2. */
  let template: string;
  let config: Config;

  before(async () => {
    await tf.setBackend('cpu');
    const root = tmp('ckresume');
    reference = deterministicColumns((await runTraining(microConfig(path.join(root, 'ref'), sets), quiet)).runDir);
    const abort = new AbortController();
    config = microConfig(path.join(root, 'run'), sets);
    const s = await runTraining(config, {
      ...quiet, configFile: 'micro.yaml', signal: abort.signal, callbacks: [{ onEpochEnd: (l) => void (l.epoch === 2 && abort.abort()) }],
    });
    expect(s.status).to.equal('interrupted');
    template = s.runDir;
  });

  function copyRun(): string {
    const dir = tmp('ckrun');
    fs.cpSync(template, dir, { recursive: true });
    return dir;
  }

  it('random bytes in weights.bin, no previous checkpoint: an error naming it (not "diverged"), the folder left byte for byte', async () => {
    const runDir = copyRun();
    fs.rmSync(path.join(runDir, PREVIOUS_CHECKPOINT_DIR), { recursive: true });
    damage(path.join(runDir, CHECKPOINT_DIR, 'weights.bin'), DAMAGES.garbage);
    const before = snapshot(runDir);
    let err: unknown;
    try {
      await runTraining(config, { ...quiet, runDir, resume: true });
    } catch (e) {
      err = e;
    }
    expect(err).to.be.instanceOf(UserError);
    expect((err as Error).message).to.contain(`${path.join(runDir, CHECKPOINT_DIR, 'weights.bin')}: corrupt`);
    expect(snapshot(runDir)).to.deep.equal(before);
    expect(readSummary(runDir)).to.include({ status: 'interrupted', epochsRun: 2 });
  });

  it('optimizer.bin.json replaced by []: resumes from the previous checkpoint, says so, ends as an uninterrupted run', async () => {
    const runDir = copyRun();
    fs.writeFileSync(path.join(runDir, CHECKPOINT_DIR, 'optimizer.bin.json'), '[]');
    const lines: string[] = [];
    const warnings: string[] = [];
    const s = await runTraining(config, {
      ...quiet, log: (l) => lines.push(l), warn: (l) => warnings.push(l), runDir, resume: true,
    });
    expect(s.status).to.equal('completed');
    expect(warnings.filter((w) => w.includes('previous checkpoint'))).to.have.length(1);
    expect(warnings.join('\n')).to.contain(`${path.join(runDir, CHECKPOINT_DIR, 'optimizer.bin.json')}: corrupt`);
    expect(lines.filter((l) => l.startsWith('resuming at'))[0]).to.match(/^resuming at epoch 3, batch 0 /);
    expect(deterministicColumns(runDir)).to.deep.equal(reference);
    // The summary continues the one the folder held (the config file named when the run started).
    expect(readSummary(runDir)?.configFile).to.equal('micro.yaml');
  });

  it('the CLI: exit 2, one line naming the file, no stack trace', async () => {
    const runDir = copyRun();
    fs.rmSync(path.join(runDir, PREVIOUS_CHECKPOINT_DIR), { recursive: true });
    damage(path.join(runDir, CHECKPOINT_DIR, 'state.json'), DAMAGES['zero bytes']);
    const { code, stderr, lines } = await trainCli(['--resume', runDir]);
    expect(code, stderr).to.equal(2);
    expect(lines, stderr).to.have.length(1);
    expect(lines[0]).to.contain(`${path.join(runDir, CHECKPOINT_DIR, 'state.json')}: not valid JSON`);
    expect(stderr).to.not.contain('    at ');
  });
});
