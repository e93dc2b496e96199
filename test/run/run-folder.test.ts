// src/run/ owns the run folder: its names, the atomic writers, summary.json's reader, the config hash, metrics.csv.
import { expect } from 'chai';
import fs from 'node:fs';
import path from 'node:path';
import { configToYaml } from '../../src/config/load.js';
import { defaultConfig, type Config } from '../../src/config/schema.js';
import { UserError } from '../../src/errors.js';
import { configSha256, configTextGives, readRunConfig, writeRunConfig } from '../../src/run/config.js';
import { checkpointDir, modelDir, RUN_FILES, runPath } from '../../src/run/files.js';
import { METRIC_COLUMNS, readMetrics, upgradeLogs, writeMetrics, type EpochLogs } from '../../src/run/metrics.js';
import { openRunFolder } from '../../src/run/start.js';
import { readSummary, writeSummary, type RunSummary } from '../../src/run/summary.js';
import { CsvLogger } from '../../src/train/callbacks/csv-logger.js';
import type { TrainState } from '../../src/train/callbacks/types.js';
import { sha256Hex } from '../../src/util/hash.js';
import { removeDir, tempDir } from '../data/helpers.js';

const row = (epoch: number, over: Partial<EpochLogs> = {}): EpochLogs => ({
  epoch, lr: 0.1, train_loss: 1.25, train_acc: 0.5, train_eval_loss: 1, train_eval_acc: 0.625, val_loss: 1.5, val_acc: 0.375,
  gap_acc: 0.25, gap_loss: 0.5, epoch_seconds: 2.5, train_eval_seconds: 0.5, images_per_second: 100, ...over,
});

function summary(runDir: string, over: Partial<RunSummary> = {}): RunSummary {
  return {
    status: 'running', experiment: 'e', runId: path.basename(runDir), runDir, configSha256: 'ab'.repeat(32),
    model: { body: 'nin', head: 'gap' }, epochsRun: 1, wallSeconds: 1, startedAt: '2026-01-01T00:00:00.000Z',
    versions: { gaplab: '0', tfjs: '0', node: 'v20' }, ...over,
  };
}

/** Keys of a plain object tree in reverse order at every level (the same config built another way). */
function reversed(v: unknown): unknown {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return v;
  return Object.fromEntries(Object.entries(v).reverse().map(([k, x]) => [k, reversed(x)]));
}

describe('run folder (src/run)', () => {
  let dir: string;
  beforeEach(() => {
    dir = tempDir('gaplab-run-');
  });
  afterEach(() => removeDir(dir));

  it('names every file once, and paths are <runDir>/<name>', () => {
    const names = Object.values(RUN_FILES);
    expect(new Set(names).size).to.equal(names.length);
    expect(runPath('/r', 'summary')).to.equal('/r/summary.json');
    expect(runPath('/r', 'metrics')).to.equal('/r/metrics.csv');
    expect(runPath('/r', 'config')).to.equal('/r/config.yaml');
    expect([modelDir('/r', 'final'), modelDir('/r', 'best')]).to.deep.equal(['/r/model', '/r/model-best']);
  });

  it('finds the newest complete checkpoint: checkpoint/, else checkpoint.old/, only with its state file', () => {
    expect(checkpointDir(dir)).to.equal(undefined);
    const old = runPath(dir, 'previousCheckpoint');
    fs.mkdirSync(old);
    expect(checkpointDir(dir)).to.equal(undefined); // no state.json: a swap cut short before it was written
    fs.writeFileSync(path.join(old, RUN_FILES.checkpointState), '{}');
    expect(checkpointDir(dir)).to.equal(old);
    fs.mkdirSync(runPath(dir, 'newestCheckpoint'));
    fs.writeFileSync(path.join(runPath(dir, 'newestCheckpoint'), RUN_FILES.checkpointState), '{}');
    expect(checkpointDir(dir)).to.equal(runPath(dir, 'newestCheckpoint'));
  });

  it('writes summary.json and metrics.csv atomically: a new file renamed over the old, no temporary left', async () => {
    await writeSummary(dir, summary(dir));
    writeMetrics(dir, [row(1)]);
    const inodes = [fs.statSync(runPath(dir, 'summary')).ino, fs.statSync(runPath(dir, 'metrics')).ino];
    await writeSummary(dir, summary(dir, { epochsRun: 2 }));
    writeMetrics(dir, [row(1), row(2)]);
    // Replaced by rename, not rewritten in place: a reader never sees half a file.
    expect(fs.statSync(runPath(dir, 'summary')).ino).to.not.equal(inodes[0]);
    expect(fs.statSync(runPath(dir, 'metrics')).ino).to.not.equal(inodes[1]);
    expect(fs.readdirSync(dir).sort()).to.deep.equal([RUN_FILES.metrics, RUN_FILES.summary]);
    expect(readSummary(dir)?.epochsRun).to.equal(2);
  });

  it('reads summary.json only when it is a summary: absent, broken, unknown status or no config hash give undefined', async () => {
    expect(readSummary(dir)).to.equal(undefined);
    const file = runPath(dir, 'summary');
    for (const text of ['{"status": "completed", "configSha', 'null', '[1]', '{"status": "done", "configSha256": "x"}', '{"status": "completed"}']) {
      fs.writeFileSync(file, text);
      expect(readSummary(dir), text).to.equal(undefined);
    }
    await writeSummary(dir, summary(dir, { status: 'completed' }));
    expect(readSummary(dir)).to.deep.include({ status: 'completed', configSha256: 'ab'.repeat(32), epochsRun: 1 });
  });

  it('upgrades summary rows as it reads them: null (NaN in JSON) is NaN, and a row from before train_eval has no gap', () => {
    const { train_eval_acc: _a, train_eval_loss: _l, train_eval_seconds: _s, ...old } = row(3, { gap_acc: 0.3, gap_loss: 0.2 });
    const measured = { ...row(2), val_loss: null, gap_loss: null };
    fs.writeFileSync(runPath(dir, 'summary'), JSON.stringify({ ...summary(dir), final: old, best: measured }));
    const s = readSummary(dir)!;
    expect([s.final!.train_eval_acc, s.final!.gap_acc, s.final!.gap_loss, s.final!.val_acc]).to.deep.equal([NaN, NaN, NaN, 0.375]);
    expect([s.best!.val_loss, s.best!.gap_loss, s.best!.gap_acc]).to.deep.equal([NaN, NaN, 0.25]);
  });

  it('upgradeLogs: a gap counts only beside the train_eval value it came from; current rows are unchanged', () => {
    expect(upgradeLogs(row(1))).to.deep.equal(row(1));
    expect(upgradeLogs({ ...row(1), train_eval_acc: undefined })).to.deep.include({ gap_acc: NaN, gap_loss: 0.5 });
    expect(upgradeLogs({ ...row(1), train_eval_loss: null })).to.deep.include({ gap_acc: 0.25, gap_loss: NaN });
    const up = upgradeLogs({ epoch: 4, gap_acc: 0.5 });
    expect(METRIC_COLUMNS.every((k) => typeof up[k] === 'number')).to.equal(true);
    expect([up.epoch, up.gap_acc, up.lr]).to.deep.equal([4, NaN, NaN]);
  });

  it('metrics.csv: one writer for the CSV logger and a resume; read back rounded, empty cells NaN, old files upgraded', () => {
    const history = [row(1), row(2, { val_loss: NaN, train_loss: 1 / 3 })];
    writeMetrics(dir, history);
    const written = fs.readFileSync(runPath(dir, 'metrics'), 'utf8');
    expect(written.split('\n')[0]).to.equal(METRIC_COLUMNS.join(','));
    expect(written.split('\n')[2]).to.equal('2,0.1,0.333333,0.5,1,0.625,,0.375,0.25,0.5,2.5,0.5,100');
    // The callback the loop runs writes exactly what a resume writes for the same history.
    fs.rmSync(runPath(dir, 'metrics'));
    new CsvLogger(dir).onEpochEnd(history[1], { history } as unknown as TrainState);
    expect(fs.readFileSync(runPath(dir, 'metrics'), 'utf8')).to.equal(written);
    expect(readMetrics(dir)).to.deep.equal([row(1), row(2, { val_loss: NaN, train_loss: 0.333333 })]);
    // A file written before the train-eval pass: its gaps were running train minus val, another quantity.
    fs.writeFileSync(runPath(dir, 'metrics'), 'epoch,lr,train_loss,train_acc,val_loss,val_acc,gap_acc,gap_loss\n1,0.1,1,0.9,1.5,0.6,0.3,0.5\n');
    expect(readMetrics(dir)[0]).to.deep.include({ train_acc: 0.9, val_acc: 0.6, train_eval_acc: NaN, gap_acc: NaN, gap_loss: NaN });
    expect(readMetrics(path.join(dir, 'none'))).to.deep.equal([]);
  });

  it('config hash: the sha256 of config.yaml as written, the same whatever order the keys were built in', () => {
    const config: Config = { ...defaultConfig(), experiment: 'e', seed: 3 };
    const shuffled = reversed(config) as Config;
    expect(Object.keys(shuffled)[0]).to.not.equal(Object.keys(config)[0]);
    expect(configToYaml(shuffled)).to.equal(configToYaml(config));
    expect(configSha256(shuffled)).to.equal(configSha256(config));
    expect(writeRunConfig(dir, shuffled)).to.equal(configSha256(config));
    expect(configSha256(config)).to.equal(sha256Hex(fs.readFileSync(runPath(dir, 'config'), 'utf8')));
    expect(configSha256({ ...config, seed: 4 })).to.not.equal(configSha256(config));
    expect(readRunConfig(dir)).to.deep.equal(config);
    expect(configTextGives(fs.readFileSync(runPath(dir, 'config'), 'utf8'), shuffled)).to.equal(true);
    expect(configTextGives('seed: [', config)).to.equal(false);
  });

  it('reads config.yaml with the loader\'s guards: an alias bomb or a missing file is one UserError naming it', () => {
    expect(() => readRunConfig(dir)).to.throw(UserError, `${dir}: not a run folder (no config.yaml)`);
    // "Billion laughs": each level refers to the one before nine times (9^9 x's once expanded).
    const letter = (i: number) => String.fromCharCode(97 + i);
    const bomb = ['a: &a [x, x, x, x, x, x, x, x, x]'];
    for (let i = 1; i < 10; i++) bomb.push(`${letter(i)}: &${letter(i)} [${Array(9).fill(`*${letter(i - 1)}`).join(', ')}]`);
    fs.writeFileSync(runPath(dir, 'config'), bomb.join('\n'));
    expect(() => readRunConfig(dir)).to.throw(UserError, `${runPath(dir, 'config')}: invalid YAML`);
  });

  it('opens a run folder: a new run writes config.yaml; a resume needs the same config and an unfinished run, writing nothing', async () => {
    const config: Config = { ...defaultConfig(), experiment: 'e' };
    const runDir = path.join(dir, 'run');
    fs.mkdirSync(runDir);
    const opened = openRunFolder(config, { runDir });
    expect(opened).to.deep.equal({ runDir, configSha256: configSha256(config) });
    expect(fs.readFileSync(runPath(runDir, 'config'), 'utf8')).to.equal(configToYaml(config));
    expect(() => openRunFolder({ ...config, seed: 9 }, { runDir, resume: true })).to.throw(UserError, 'cannot resume: its config.yaml differs');
    await writeSummary(runDir, summary(runDir, { status: 'interrupted' }));
    const before = fs.readdirSync(runDir).map((f) => [f, fs.statSync(path.join(runDir, f)).mtimeMs]);
    expect(openRunFolder(config, { runDir, resume: true }).prev?.status).to.equal('interrupted');
    expect(fs.readdirSync(runDir).map((f) => [f, fs.statSync(path.join(runDir, f)).mtimeMs])).to.deep.equal(before);
    await writeSummary(runDir, summary(runDir, { status: 'completed' }));
    expect(() => openRunFolder(config, { runDir, resume: true })).to.throw(UserError, 'already completed');
  });
});
