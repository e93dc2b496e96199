// The train CLI on a diverging run: exit code 3, one stderr line naming epoch, batch and lr, summary status 'diverged'.
import { expect } from 'chai';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import YAML from 'yaml';
import type { RunSummary } from '../../src/run/summary.js';
import { microConfig } from './helpers.js';

/** tfjs's own banner on stderr when tfjs-node is not installed (printed at import, not by gaplab). */
const isTfjsBanner = (line: string) => /^=+$/.test(line) || line.startsWith('Hi, looks like you are running TensorFlow.js');

function run(args: string[]): Promise<{ code: number | null; stderr: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', path.resolve('src/cli/train.ts'), ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, stderr })));
}

describe('train CLI: divergence', function () {
  this.timeout(120_000);

  it('exits 3 with one line naming epoch, batch and lr, no stack; summary.json says diverged', async () => {
    const out = fs.mkdtempSync(path.join(os.tmpdir(), 'gaplab-diverge-'));
    const config = path.join(out, 'micro.yaml');
    fs.writeFileSync(config, YAML.stringify(microConfig(out)));
    // Coupled decay at lr 10 and wd 1 gives w <- w - 10 (g + w) = -9 w - 10 g: kernels grow ~9x (momentum adds more)
    // per step whatever the data, so the logits overflow to a NaN loss within a few steps.
    const sets = ['train.optimizer.lr=10', 'model.weightDecay=1', 'train.schedule.name=constant', 'train.epochs=4', 'train.checkpointMinutes=0'];
    const { code, stderr } = await run(['--config', config, ...sets.flatMap((s) => ['--set', s]), '--progress', 'false']);
    expect(code, stderr).to.equal(3);
    const lines = stderr.split('\n').filter((l) => l.trim() !== '' && !isTfjsBanner(l));
    expect(lines, stderr).to.have.length(1);
    const m = /^train: (training diverged: loss (?:NaN|-?Infinity) at epoch (\d+), batch (\d+) \(learning rate 10\); lower train\.optimizer\.lr)$/.exec(lines[0]);
    expect(m, lines[0]).to.not.equal(null);
    const [, message, epoch, batch] = m!;
    expect(Number(batch)).to.be.within(1, 4); // 32 training images in batches of 8

    const runDir = path.join(out, 'micro', fs.readdirSync(path.join(out, 'micro'))[0]);
    const s = JSON.parse(fs.readFileSync(path.join(runDir, 'summary.json'), 'utf8')) as RunSummary;
    expect(s.status).to.equal('diverged');
    expect(s.error).to.equal(message);
    // Every epoch before the named one finished: its rows are in metrics.csv and its end is the last checkpoint.
    const done = Number(epoch) - 1;
    expect(done, 'diverged in epoch 1: nothing to check against a checkpoint').to.be.at.least(1);
    expect(s.epochsRun).to.equal(done);
    expect(fs.readFileSync(path.join(runDir, 'metrics.csv'), 'utf8').trim().split('\n')).to.have.length(1 + done);
    const st = JSON.parse(fs.readFileSync(path.join(runDir, 'checkpoint', 'state.json'), 'utf8')) as { epoch: number; batch: number };
    expect([st.epoch, st.batch]).to.deep.equal([done, 0]);
  });
});
