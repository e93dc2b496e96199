// Exact resume: a run killed (SIGKILL) or interrupted (SIGINT) mid-epoch and resumed ends with the same metrics.
import { expect } from 'chai';
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import YAML from 'yaml';
import { runTraining } from '../../src/train/run.js';
import type { RunSummary } from '../../src/run/summary.js';
import { deterministicColumns, microConfig } from './helpers.js';

/** One node process (a tsx wrapper would relay signals to a child of its own). */
const NODE = [process.execPath, '--import', 'tsx'];
const TRAIN = path.resolve('src/cli/train.ts');

function onlyRunDir(parent: string): string {
  // The CLI's lock (<run-id>.lock) sits beside the run folder while it trains.
  const dirs = (fs.existsSync(parent) ? fs.readdirSync(parent) : []).filter((d) => !d.endsWith('.lock'));
  return dirs.length === 1 ? path.join(parent, dirs[0]) : '';
}

function exitOf(child: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => child.on('exit', (code) => resolve(code)));
}

/** Waits until the run has a mid-epoch checkpoint in epoch 2 or later. */
async function waitForMidEpochCheckpoint(parent: string, child: ChildProcess): Promise<string> {
  for (let i = 0; i < 3000; i++) {
    const run = onlyRunDir(parent);
    const st = run && path.join(run, 'checkpoint', 'state.json');
    if (st && fs.existsSync(st)) {
      try {
        const s = JSON.parse(fs.readFileSync(st, 'utf8')) as { epoch: number; batch: number };
        if (s.epoch >= 1 && s.batch >= 2) return run;
      } catch {
        // being replaced right now; look again
      }
    }
    if (child.exitCode !== null) throw new Error(`child exited early with ${child.exitCode}`);
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error('no mid-epoch checkpoint appeared');
}

describe('resume after a crash or an interrupt', function () {
  this.timeout(600_000);
  const sets = ['train.epochs=3', 'train.checkpointMinutes=0.00001', 'data.synthetic.trainSize=96'];
  let reference: RunSummary;
  let root: string;

  before(async () => {
    await tf.setBackend('cpu');
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'gaplab-resume-'));
    reference = await runTraining(microConfig(path.join(root, 'ref'), sets), { log: () => {}, warn: () => {}, live: false });
  });

  function configFile(outputDir: string): string {
    const f = path.join(root, `${path.basename(outputDir)}.yaml`);
    fs.writeFileSync(f, YAML.stringify(microConfig(outputDir, sets)));
    return f;
  }

  for (const signal of ['SIGKILL', 'SIGINT'] as const) {
    it(`${signal} mid-epoch, then --resume: same metrics.csv and test result as an uninterrupted run`, async () => {
      const out = path.join(root, signal);
      const child = spawn(NODE[0], [...NODE.slice(1), TRAIN, '--config', configFile(out), '--progress', 'false'], { stdio: 'ignore' });
      const exited = exitOf(child);
      const runDir = await waitForMidEpochCheckpoint(path.join(out, 'micro'), child);
      child.kill(signal);
      const code = await exited;
      if (signal === 'SIGINT') {
        expect(code).to.equal(130);
        const s = JSON.parse(fs.readFileSync(path.join(runDir, 'summary.json'), 'utf8')) as RunSummary;
        expect(s.status).to.equal('interrupted');
        expect(s.stopReason).to.contain('--resume');
      }
      const resumed = spawn(NODE[0], [...NODE.slice(1), TRAIN, '--resume', runDir, '--progress', 'false'], { stdio: 'ignore' });
      expect(await exitOf(resumed)).to.equal(0);
      expect(deterministicColumns(runDir)).to.deep.equal(deterministicColumns(reference.runDir));
      const s = JSON.parse(fs.readFileSync(path.join(runDir, 'summary.json'), 'utf8')) as RunSummary;
      expect(s.status).to.equal('completed');
      expect(s.test).to.deep.equal(reference.test);
    });
  }

  it('SIGINT twice within a second (one Ctrl-C, relayed by npm or tsx) stops once, gracefully, at a resumable position', async () => {
    // The second path (a later SIGINT exits at once) is tested in test/cli/signals.test.ts.
    const out = path.join(root, 'double');
    const child = spawn(NODE[0], [...NODE.slice(1), TRAIN, '--config', configFile(out), '--progress', 'false'], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = exitOf(child);
    const runDir = await waitForMidEpochCheckpoint(path.join(out, 'micro'), child);
    child.kill('SIGINT');
    await new Promise((r) => setTimeout(r, 30)); // 30 ms apart, as tsx's relay re-sends (back to back they may merge)
    child.kill('SIGINT');
    expect(await exited).to.equal(130);
    expect(stderr.split('\n').filter((l) => l.includes('SIGINT')), stderr).to.deep.equal([
      'SIGINT: finishing the current batch and writing a checkpoint (press Ctrl-C again to exit at once)',
    ]);
    const s = JSON.parse(fs.readFileSync(path.join(runDir, 'summary.json'), 'utf8')) as RunSummary;
    expect(s.status).to.equal('interrupted');
    const resumed = spawn(NODE[0], [...NODE.slice(1), TRAIN, '--resume', runDir, '--progress', 'false'], { stdio: 'ignore' });
    expect(await exitOf(resumed)).to.equal(0);
    expect(deterministicColumns(runDir)).to.deep.equal(deterministicColumns(reference.runDir));
  });

  it('refuses to resume a folder without a checkpoint, with a clear message', async () => {
    const child = spawn(NODE[0], [...NODE.slice(1), TRAIN, '--resume', root], { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr?.on('data', (d: Buffer) => (err += d.toString()));
    expect(await exitOf(child)).to.equal(2);
    expect(err).to.contain('not a run folder');
    expect(err).to.not.contain('    at ');
  });
});
