// Disk full (a small tmpfs as outputDir, filled up mid-run): one clear error, no half-written or temporary file left,
// the last checkpoint intact and resumable once there is room again, summary.json not left 'running' when it fits.
import { expect } from 'chai';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import YAML from 'yaml';
import type { Config } from '../../src/config/schema.js';
import { UserError } from '../../src/errors.js';
import { RUN_FILES as NAMES } from '../../src/run/files.js';
import type { Callback } from '../../src/train/callbacks/types.js';
import { runTraining } from '../../src/train/run.js';
import { readSummary } from '../../src/run/summary.js';
import { needs } from '../requires.js';
import { canMount, fillDisk, mountTmpfs, snapshot, trainCli, unmount } from './fault-helpers.js';
import { deterministicColumns, microConfig } from './helpers.js';

const { newestCheckpoint: CHECKPOINT_DIR, previousCheckpoint: PREVIOUS_CHECKPOINT_DIR } = NAMES;

const quiet = { log: () => {}, warn: () => {}, live: false };
const CHECKPOINT_FILES = ['state.json', 'weights.bin', 'weights.bin.json', 'best.bin', 'best.bin.json', 'optimizer.bin', 'optimizer.bin.json'];
/** Everything a run folder holds between epochs (after the first), and nothing else: no temporary file. */
const RUN_FILES = [
  'classes.json', 'config.yaml', 'metrics.csv', 'preprocessing.json', 'summary.json', 'model-best', 'model-best/model.json', 'model-best/weights.bin',
  CHECKPOINT_DIR, ...CHECKPOINT_FILES.map((f) => `${CHECKPOINT_DIR}/${f}`),
  PREVIOUS_CHECKPOINT_DIR, ...CHECKPOINT_FILES.map((f) => `${PREVIOUS_CHECKPOINT_DIR}/${f}`),
].sort();

describe('disk full during a run (tmpfs)', function () {
  this.timeout(300_000);
  const sets = ['train.epochs=3'];
  let root: string;
  let disk: string;
  let reference: string[];
  let ballast: string | undefined;

  before(async function () {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'gaplab-diskfull-'));
    needs(this, canMount(path.join(root, 'probe')), 'root, to mount a tmpfs (CI runs as root)');
    disk = path.join(root, 'disk');
    mountTmpfs(disk, '8m');
    await tf.setBackend('cpu');
    reference = deterministicColumns((await runTraining(microConfig(path.join(root, 'ref'), sets), quiet)).runDir);
  });

  afterEach(() => {
    if (ballast) fs.rmSync(ballast, { force: true });
    ballast = undefined;
  });

  after(() => {
    if (disk && fs.existsSync(disk)) unmount(disk);
  });

  /** The run folder of `config`'s only run (created before its first epoch). */
  function runDirOf(config: Config): string {
    const parent = path.join(config.outputDir, 'micro');
    return path.join(parent, fs.readdirSync(parent)[0]);
  }

  /** Runs `config` with `fill` as its last callback; returns the run folder and the error it stopped with. */
  async function failingRun(config: Config, fill: Callback, warn: (l: string) => void = () => {}): Promise<{ runDir: string; err: Error }> {
    let err: unknown;
    try {
      await runTraining(config, { ...quiet, warn, callbacks: [fill] });
    } catch (e) {
      err = e;
    }
    expect(err).to.be.instanceOf(UserError);
    expect((err as UserError).exitCode).to.equal(1);
    return { runDir: runDirOf(config), err: err as Error };
  }

  /** Frees the space, resumes, and checks the run ends exactly as one never stopped. */
  async function resumesToReference(config: Config, runDir: string): Promise<void> {
    fs.rmSync(ballast!);
    ballast = undefined;
    const s = await runTraining(config, { ...quiet, runDir, resume: true });
    expect(s.status).to.equal('completed');
    expect(deterministicColumns(runDir)).to.deep.equal(reference);
  }

  it('during a checkpoint: checkpoint.tmp removed, the last checkpoint intact, summary.json failed, resumable', async () => {
    const config = microConfig(path.join(disk, 'ckpt'), [...sets, 'train.checkpointMinutes=0.00001']);
    let lastGood: Record<string, string> = {};
    // After the checkpoint at (epoch 2, batch 2), leave two 4 kB pages: the next checkpoint's first two files fit, the
    // third does not; removing them makes room for summary.json again.
    const fill: Callback = {
      onBatchEnd: (_l, s) => {
        if (s.epoch !== 1 || s.batch !== 2) return;
        lastGood = snapshot(runDirOf(config));
        ballast = fillDisk(disk, 2);
      },
    };
    const { runDir, err } = await failingRun(config, fill);
    expect(err.message).to.match(new RegExp(`^disk full \\(ENOSPC\\) writing ${path.join(runDir, `${CHECKPOINT_DIR}.tmp`)}/[a-z.]+$`));
    expect((fs.readdirSync(runDir, { recursive: true }) as string[]).sort()).to.deep.equal(RUN_FILES);
    const now = snapshot(runDir);
    for (const dir of [CHECKPOINT_DIR, PREVIOUS_CHECKPOINT_DIR]) {
      for (const f of CHECKPOINT_FILES) expect(now[`${dir}/${f}`], `${dir}/${f}`).to.equal(lastGood[`${dir}/${f}`]);
    }
    expect(readSummary(runDir)).to.include({ status: 'failed', error: err.message });
    await resumesToReference(config, runDir);
  });

  it('during metrics.csv: the file as it was, summary.json still whole, resumable', async () => {
    const config = microConfig(path.join(disk, 'csv'), [...sets, 'train.checkpointMinutes=0']);
    let csvBefore = '';
    const warnings: string[] = [];
    // Full after epoch 2's last batch: its metrics.csv row is the first write to fail.
    const fill: Callback = {
      onBatchEnd: (_l, s) => {
        if (s.epoch !== 1 || s.batch !== s.batchesPerEpoch) return;
        csvBefore = fs.readFileSync(path.join(runDirOf(config), 'metrics.csv'), 'utf8');
        ballast = fillDisk(disk, 0);
      },
    };
    const { runDir, err } = await failingRun(config, fill, (l) => warnings.push(l));
    expect(err.message).to.equal(`disk full (ENOSPC) writing ${path.join(runDir, 'metrics.csv')}`);
    expect(fs.readFileSync(path.join(runDir, 'metrics.csv'), 'utf8')).to.equal(csvBefore);
    expect(csvBefore.trim().split('\n')).to.have.length(2);
    expect((fs.readdirSync(runDir, { recursive: true }) as string[]).sort()).to.deep.equal(RUN_FILES.filter((f) => !f.startsWith(PREVIOUS_CHECKPOINT_DIR)));
    // No room for the failure either: summary.json keeps its last complete version, and a warning says so.
    expect(readSummary(runDir)).to.include({ status: 'running', epochsRun: 1 });
    expect(warnings).to.deep.equal([`summary.json not updated: disk full (ENOSPC) writing ${path.join(runDir, 'summary.json')}`]);
    await resumesToReference(config, runDir);
  });

  it('during summary.json: the file as it was, no temporary file, resumable', async () => {
    const config = microConfig(path.join(disk, 'summary'), [...sets, 'train.checkpointMinutes=0']);
    let summaryBefore = '';
    // Runs after epoch 2's metrics.csv row and checkpoint, before its summary.json update (the last epoch-end step).
    const fill: Callback = {
      onEpochEnd: (l) => {
        if (l.epoch !== 2) return;
        summaryBefore = fs.readFileSync(path.join(runDirOf(config), 'summary.json'), 'utf8');
        ballast = fillDisk(disk, 0);
      },
    };
    const { runDir, err } = await failingRun(config, fill);
    expect(err.message).to.equal(`disk full (ENOSPC) writing ${path.join(runDir, 'summary.json')}`);
    expect(fs.readFileSync(path.join(runDir, 'summary.json'), 'utf8')).to.equal(summaryBefore);
    expect((fs.readdirSync(runDir, { recursive: true }) as string[]).sort()).to.deep.equal(RUN_FILES);
    await resumesToReference(config, runDir);
  });

  it('the CLI: exit 1 with one line naming the file, no stack trace, nothing temporary left', async () => {
    const out = path.join(disk, 'cli');
    const configFile = path.join(root, 'cli.yaml');
    fs.writeFileSync(configFile, YAML.stringify(microConfig(out, sets)));
    fs.mkdirSync(out);
    // Room for the first files, not for a whole run.
    ballast = fillDisk(disk, 8);
    const { code, stderr, lines } = await trainCli(['--config', configFile]);
    expect(code, stderr).to.equal(1);
    // Besides the error, at most the warning that summary.json could not be updated either.
    const errors = lines.filter((l) => l.startsWith('train: error:'));
    expect(errors, stderr).to.have.length(1);
    expect(errors[0]).to.match(/^train: error: disk full \(ENOSPC\) writing \/\S+$/);
    expect(lines.filter((l) => !l.startsWith('train: error:') && !l.startsWith('summary.json not updated: disk full')), stderr).to.deep.equal([]);
    expect(stderr).to.not.contain('    at ');
    const left = fs.readdirSync(out, { recursive: true }) as string[];
    expect(left.filter((f) => /\.tmp\b|\.\d+$/.test(f)), left.join(' ')).to.deep.equal([]);
  });
});
