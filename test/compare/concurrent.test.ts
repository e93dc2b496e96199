// Two `compare --jobs 2` processes on one suite and one output folder at once: every run trained exactly once, every
// file whole, and each compare waits for the other's runs, so both print and write the complete suite.
import fs from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import { parse } from 'csv-parse/sync';
import YAML from 'yaml';

import { planSuite } from '../../src/compare/plan.js';
import { loadSuite } from '../../src/compare/suite.js';
import { nativeReady } from '../backend/helpers.js';
import { needsNative } from '../requires.js';
import { startCompare, starts, TINY, tmpDir, writeSuite } from './helpers.js';

type Row = Record<string, string>;

describe('two compares on one suite at once', function () {
  this.timeout(300_000);
  const dir = tmpDir('concurrent');
  after(() => fs.rmSync(dir, { recursive: true, force: true }));
  before(function () {
    needsNative(this, nativeReady());
  });

  const epochs = 3;
  const suite = writeSuite(dir, 'both', {
    base: 'quick.yaml', matrix: { body: ['nin'], head: ['gap', 'fc'] }, seeds: 2,
    overrides: { ...TINY, backend: 'native', threads: 1, train: { ...TINY.train, epochs } },
  });

  it('trains each run once, leaves no broken file, and both end with the whole suite', async () => {
    const out = path.join(dir, 'out');
    const plan = planSuite(loadSuite(suite), { outputDir: out });
    const a = startCompare(suite, out, ['--jobs', '2']);
    // The second starts once the first holds a run (process start-up times vary by seconds on a busy machine).
    for (let i = 0; !fs.existsSync(`${plan.runs[0]!.runDir}.lock`); i++) {
      if (a.child.exitCode !== null || i > 6000) throw new Error(`the first compare took no run:\n${a.output()}`);
      await new Promise((r) => setTimeout(r, 10));
    }
    const b = startCompare(suite, out, ['--jobs', '2']);
    const [codeA, codeB] = await Promise.all([a.exit, b.exit]);
    expect(codeA, a.output()).to.equal(0);
    expect(codeB, b.output()).to.equal(0);

    for (const spec of plan.runs) {
      const what = `${spec.variant} seed ${spec.seed}`;
      expect(starts(spec), `${what}: times trained`).to.equal(1);
      const summary = JSON.parse(fs.readFileSync(path.join(spec.runDir, 'summary.json'), 'utf8')) as { status: string; epochsRun: number };
      expect([summary.status, summary.epochsRun], what).to.deep.equal(['completed', epochs]);
      const metrics = parse(fs.readFileSync(path.join(spec.runDir, 'metrics.csv'), 'utf8'), { columns: true }) as Row[];
      expect(metrics.map((r) => Number(r.epoch)), `${what}: metrics.csv`).to.deep.equal([1, 2, 3]);
      expect((YAML.parse(fs.readFileSync(path.join(spec.runDir, 'config.yaml'), 'utf8')) as { seed: number }).seed).to.equal(spec.seed);
      expect(fs.existsSync(`${spec.runDir}.lock`), `${what}: lock left behind`).to.equal(false);
    }
    // Together they trained the four runs; each one says what it left to the other.
    const counts = [a, b].map((c) => /trained (\d), already completed (\d)(?:, trained by another compare (\d))?/.exec(c.output()));
    expect(counts.map((m) => Number(m?.[1]) + Number(m?.[3] ?? 0) + Number(m?.[2]))).to.deep.equal([4, 4]);
    // Which compare trains how many is scheduling (2 + 2 or 3 + 1 both happen); between them, each run exactly once.
    expect(counts.map((m) => Number(m?.[1])).reduce((x, y) => x + y), 'runs trained by the two together').to.equal(4);
    // Neither wrote its outputs while the other's runs were still going.
    for (const c of [a, b]) expect(c.output()).to.not.match(/not done|runs not completed/);

    const runs = parse(fs.readFileSync(path.join(plan.suiteDir, 'runs.csv'), 'utf8'), { columns: true }) as Row[];
    expect(runs.map((r) => `${r.variant}/${r.seed}:${r.status}:${r.epochs}`)).to.deep.equal([
      'nin-gap/1:completed:3', 'nin-gap/2:completed:3', 'nin-fc/1:completed:3', 'nin-fc/2:completed:3',
    ]);
    const cmp = parse(fs.readFileSync(path.join(plan.suiteDir, 'comparison.csv'), 'utf8'), { columns: true }) as Row[];
    expect(cmp.map((r) => [r.kind, r.variant, r.seeds])).to.deep.include.members([['variant', 'nin-gap', '2'], ['variant', 'nin-fc', '2']]);
    expect(cmp.filter((r) => r.kind === 'pair')).to.have.length(1);
  });
});
