// compare --dry-run: each run's fate (done, resumable, new, starts over), the time left from completed runs, nothing written.
import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { compare } from '../../src/compare/compare.js';
import { estimateSeconds, dryRunRows } from '../../src/compare/dry-run.js';
import { planSuite } from '../../src/compare/plan.js';
import { loadSuite } from '../../src/compare/suite.js';
import { TINY, tmpDir, writeFixtureRun, writeSuite } from './helpers.js';

describe('compare --dry-run', () => {
  let dir: string, suite: string;
  before(() => {
    dir = tmpDir('dry');
    suite = writeSuite(dir, 'dry', {
      base: 'quick-nin-gap', matrix: { body: ['nin'], head: ['gap', 'fc'] }, seeds: 3, outputDir: dir,
      overrides: { ...TINY, train: { ...TINY.train, epochs: 4 } },
    });
    const plan = planSuite(loadSuite(suite));
    const [gap1, gap2, gap3, fc1, fc2] = plan.runs; // variant-major: nin-gap seeds 1-3, then nin-fc seeds 1-3
    const e: [number, number, number, number] = [0.5, 0.4, 1, 1.2];
    writeFixtureRun(gap1!, { status: 'completed', epochs: [e, e, e, e], error: 0.3, wallSeconds: 100 });
    // Interrupted after 2 of 4 epochs, with a checkpoint: resumable, half a run left.
    writeFixtureRun(gap2!, { status: 'interrupted', epochs: [e, e] });
    fs.mkdirSync(path.join(gap2!.runDir, 'checkpoint'));
    fs.writeFileSync(path.join(gap2!.runDir, 'checkpoint', 'state.json'), '{}');
    // Interrupted without a checkpoint: starts over.
    writeFixtureRun(gap3!, { status: 'interrupted', epochs: [e] });
    writeFixtureRun(fc1!, { status: 'failed', epochs: [e], message: 'boom' });
    // Another config in the folder: stale.
    writeFixtureRun({ ...fc2!, config: { ...fc2!.config, seed: 99 }, configSha256: 'x' }, { status: 'completed', epochs: [e] });
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('says what each run would do and estimates the time left from the completed runs', async () => {
    const lines: string[] = [];
    const r = await compare({ suite, dryRun: true, jobs: 1, log: (l) => lines.push(l), warn: (l) => lines.push(l) });
    expect(r.exitCode).to.equal(0);
    const runs = lines.slice(1, 7).map((l) => l.replace(/ {2}\S+$/, ''));
    expect(runs).to.deep.equal([
      '  nin-gap seed 1: done (skipped)',
      '  nin-gap seed 2: resumable from its checkpoint (epoch 2 of 4)',
      '  nin-gap seed 3: starts over (no usable checkpoint)',
      '  nin-fc seed 1: starts over (failed)',
      '  nin-fc seed 2: starts over (another config)',
      '  nin-fc seed 3: new',
    ]);
    // Left: gap seed 2 half of gap's 100 s, gap seed 3 100 s; the fc runs have no completed run of their own, so each
    // costs the mean of all completed runs (100 s): 50 + 100 + 3 x 100 = 450 s = 8 min (rounded) with one job.
    expect(lines[7]).to.equal('done 1, resumable 1, new 1, starting over 3; estimated time left with --jobs 1: 8 min');
    expect(estimateSeconds(dryRunRows(r.plan.runs), 3)).to.equal(150);
    expect(fs.existsSync(path.join(r.plan.suiteDir, 'runs.csv'))).to.equal(false);
    expect(fs.existsSync(path.join(r.plan.runs[5]!.runDir))).to.equal(false);
  });

  it('through the CLI: exit 0, the plan on stdout, nothing trained', () => {
    const out = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/compare.ts', '--suite', suite, '--dry-run', '--jobs', '2'], { encoding: 'utf8', timeout: 60_000 });
    expect(out.status, out.stderr).to.equal(0);
    expect(out.stdout).to.contain('nin-fc seed 3: new');
    expect(out.stdout.trim().split('\n').at(-1)).to.equal('done 1, resumable 1, new 1, starting over 3; estimated time left with --jobs 2: 4 min');
  });
});
