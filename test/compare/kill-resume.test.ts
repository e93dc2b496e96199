// `compare` killed with SIGKILL mid-suite, then run again: the completed run is skipped, the interrupted one resumes
// from its checkpoint (its orphaned worker stops instead of training on), and every number equals a straight run's;
// and a worker started by a compare of the previous stdin protocol trains as before.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';

import { planSuite, type RunSpec } from '../../src/compare/plan.js';
import { loadSuite } from '../../src/compare/suite.js';
import type { WorkerRequest } from '../../src/compare/worker.js';
import { readSummary } from '../../src/run/summary.js';
import { nativeReady } from '../backend/helpers.js';
import { needsNative } from '../requires.js';
import { deterministicColumns } from '../train/helpers.js';
import { startCompare, starts, TINY, tmpDir, writeSuite } from './helpers.js';

/** The epoch (0-based, next to run) of the run's checkpoint; -1 without one. */
function checkpointEpoch(spec: RunSpec): number {
  try {
    return (JSON.parse(fs.readFileSync(path.join(spec.runDir, 'checkpoint', 'state.json'), 'utf8')) as { epoch: number }).epoch;
  } catch {
    return -1; // none yet, or being replaced right now
  }
}

describe('compare killed with SIGKILL, then run again', function () {
  this.timeout(300_000);
  const dir = tmpDir('kill');
  after(() => fs.rmSync(dir, { recursive: true, force: true }));
  before(function () {
    needsNative(this, nativeReady());
  });

  // Two seeds of a tiny NIN on the native backend, ~0.2 s an epoch: long enough to be killed in the middle of a run.
  const suite = writeSuite(dir, 'kill', {
    base: 'quick.yaml', matrix: { body: ['nin'], head: ['gap'] }, seeds: 2,
    overrides: {
      ...TINY, backend: 'native', threads: 1,
      data: { ...TINY.data, synthetic: { ...TINY.data.synthetic, trainSize: 400 }, validationSize: 40 },
      train: { ...TINY.train, epochs: 6 },
    },
  });
  const plan = (out: string) => planSuite(loadSuite(suite), { outputDir: out });

  it('skips the completed run, resumes the interrupted one, and ends with the numbers of an uninterrupted suite', async () => {
    const [refOut, out] = [path.join(dir, 'straight'), path.join(dir, 'killed')];
    // The reference: seed 2 (shard 1 of 2) straight through, beside the killed suite (seed 1 runs straight in both).
    const reference = startCompare(suite, refOut, ['--shard', '1/2']);

    const first = startCompare(suite, out);
    const [done, cut] = plan(out).runs;
    // Kill once seed 1 is completed and seed 2 has an epoch-end checkpoint but more epochs to go.
    for (let i = 0; checkpointEpoch(cut!) < 1; i++) {
      if (first.child.exitCode !== null || i > 6000) throw new Error(`no checkpoint of seed 2 to kill at:\n${first.output()}`);
      await new Promise((r) => setTimeout(r, 10));
    }
    first.child.kill('SIGKILL');
    await first.exit;
    expect(readSummary(done!.runDir)?.status).to.equal('completed');
    expect(readSummary(cut!.runDir)?.status).to.not.equal('completed');

    // At once: the killed compare's lock and its worker (which must stop, not train on) are still around.
    const second = startCompare(suite, out);
    expect(await second.exit, second.output()).to.equal(0);
    expect(second.output()).to.match(/trained 1, already completed 1\b/);
    expect(starts(done!)).to.equal(1); // skipped, not trained again
    expect(starts(cut!)).to.equal(2); // resumed once
    const log = fs.readFileSync(path.join(cut!.runDir, 'train.log'), 'utf8');
    expect(log).to.contain('compare (the parent process) is gone: stopping after this batch');
    expect(log).to.match(/resuming at epoch [2-9], batch \d+/);

    expect(await reference.exit, reference.output()).to.equal(0);
    const ref = plan(refOut).runs[1]!;
    expect(deterministicColumns(cut!.runDir)).to.deep.equal(deterministicColumns(ref.runDir));
    expect(readSummary(cut!.runDir)?.test).to.deep.equal(readSummary(ref.runDir)?.test);
    expect(readSummary(cut!.runDir)?.best).to.deep.include({ epoch: readSummary(ref.runDir)?.best?.epoch });
  });

  it('a worker whose request ends with end-of-file (a compare started before the open-stdin protocol) trains on', async () => {
    // A suite still running while the code is updated starts new workers from the new files: they must not take the
    // old parent's closed stdin for its death.
    const spec = plan(path.join(dir, 'legacy')).runs[0]!;
    fs.mkdirSync(spec.runDir, { recursive: true });
    const child = spawn(process.execPath, ['--import', 'tsx', path.resolve('src/cli/compare.ts'), '--worker'], {
      env: { ...process.env, GAPLAB_CONV_LAYOUT: 'plain' }, stdio: ['pipe', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    const req: WorkerRequest = { config: spec.config, runDir: spec.runDir, resume: false, configSha256: spec.configSha256 };
    child.stdin.end(JSON.stringify(req)); // no newline, then end-of-file: what such a compare sends
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    expect(code, output).to.equal(0);
    expect(output).to.not.contain('is gone');
    expect(readSummary(spec.runDir)?.status).to.equal('completed');
  });
});
