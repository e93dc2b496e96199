// End to end: a tiny suite (2 variants x 2 seeds, 1 epoch, tiny built-in data) trained in child processes, collected, rerun.
import fs from 'node:fs';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { expect } from 'chai';
import { parse } from 'csv-parse/sync';
import { compare } from '../../src/compare/compare.js';
import { planSuite } from '../../src/compare/plan.js';
import { loadSuite } from '../../src/compare/suite.js';
import { TINY, tmpDir, writeSuite } from './helpers.js';

type Row = Record<string, string>;

describe('compare end to end', function () {
  this.timeout(600_000);
  const dir = tmpDir('e2e');
  after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const lines: string[] = [];
  const log = (l: string) => lines.push(l);
  const suite = writeSuite(dir, 'tiny', {
    base: 'quick.yaml', matrix: { body: ['nin'], head: ['gap', 'fc'] }, seeds: 2, outputDir: path.join(dir, 'out'), overrides: TINY,
  });

  it('trains every run, writes the CSVs, plots and report, and a rerun trains nothing', async () => {
    const tensors = tf.memory().numTensors;
    const r = await compare({ suite, jobs: 2, log, warn: log });
    expect(r.exitCode, lines.join('\n')).to.equal(0);
    expect(r.outcomes.map((o) => `${o.spec.variant}/${o.spec.seed}:${o.action}:${o.status}`)).to.deep.equal([
      'nin-gap/1:ran:completed', 'nin-gap/2:ran:completed', 'nin-fc/1:ran:completed', 'nin-fc/2:ran:completed',
    ]);
    expect(tf.memory().numTensors).to.equal(tensors); // the CAM section's models are disposed

    const out = r.plan.suiteDir;
    const runs = parse(fs.readFileSync(path.join(out, 'runs.csv'), 'utf8'), { columns: true }) as Row[];
    expect(runs.map((x) => [x.variant, x.seed, x.status, x.epochs, x.backend])).to.deep.equal([
      ['nin-gap', '1', 'completed', '1', 'cpu'], ['nin-gap', '2', 'completed', '1', 'cpu'],
      ['nin-fc', '1', 'completed', '1', 'cpu'], ['nin-fc', '2', 'completed', '1', 'cpu'],
    ]);
    // 24 test images: every error is a multiple of 1/24.
    for (const x of runs) expect(Math.round(Number(x.test_error) * 24) / 24).to.be.closeTo(Number(x.test_error), 1e-6);
    expect(Number(runs[2].params_head)).to.be.above(Number(runs[0].params_head)); // fc head outweighs the gap head

    const cmp = parse(fs.readFileSync(path.join(out, 'comparison.csv'), 'utf8'), { columns: true }) as Row[];
    for (const [i, v] of ['nin-gap', 'nin-fc'].entries()) {
      const [a, b] = runs.filter((x) => x.variant === v).map((x) => Number(x.test_error));
      expect(cmp[i].variant).to.equal(v);
      // Two seeds: the mean is (a + b) / 2 and the sample standard deviation sqrt(2 ((a - b) / 2)^2) = |a - b| / sqrt 2.
      expect(Number(cmp[i].test_error_mean)).to.be.closeTo((a + b) / 2, 1e-12);
      expect(Number(cmp[i].test_error_std)).to.be.closeTo(Math.abs(a - b) / Math.SQRT2, 1e-12);
      expect(cmp[i].seeds).to.equal('2');
    }
    expect(cmp[2].kind).to.equal('pair');
    expect(Number(cmp[2].diff_test_error)).to.be.closeTo(Number(cmp[0].test_error_mean) - Number(cmp[1].test_error_mean), 1e-12);

    for (const p of ['learning-curves-accuracy', 'learning-curves-loss', 'generalization-gap', 'params-vs-error']) {
      expect(fs.readFileSync(path.join(out, 'plots', `${p}.svg`), 'utf8')).to.match(/^<svg/);
      expect(fs.readFileSync(path.join(out, 'plots', `${p}.png`)).subarray(1, 4).toString()).to.equal('PNG');
    }
    const html = fs.readFileSync(path.join(out, 'report.html'), 'utf8');
    expect(html).to.contain('<table id="variants">');
    // The CAM section: figures inline, the localization table with the sweep's best threshold per row.
    expect(html).to.contain('data:image/png;base64,');
    expect(html).to.contain('<table id="localization">');
    expect(html).to.match(/data-col="best_threshold" data-csv="0\.\d+"/);
    expect(lines.some((l) => /^nin-gap - nin-fc +gap vs fc/.test(l))).to.equal(true); // the terminal table

    lines.length = 0;
    const before = fs.readFileSync(path.join(out, 'runs.csv'), 'utf8');
    const again = await compare({ suite, jobs: 2, log, warn: log, noReport: true });
    expect(again.outcomes.map((o) => o.action)).to.deep.equal(['skipped', 'skipped', 'skipped', 'skipped']);
    expect(fs.readFileSync(path.join(out, 'runs.csv'), 'utf8')).to.equal(before); // same runs, same rows
  });

  it('stops a run with a checkpoint when asked, and the next compare resumes it', async () => {
    lines.length = 0;
    const suiteFile = writeSuite(dir, 'resume', {
      base: 'quick.yaml', matrix: { body: ['nin'], head: ['gap'] }, seeds: [3], outputDir: path.join(dir, 'out'),
      overrides: { ...TINY, train: { ...TINY.train, epochs: 6 } },
    });
    const runDir = planSuite(loadSuite(suiteFile)).runs[0].runDir;
    const abort = new AbortController();
    // Ask the run to stop once its first epoch is in metrics.csv (the worker then checkpoints after its current batch).
    const watch = setInterval(() => {
      const f = path.join(runDir, 'metrics.csv');
      if (fs.existsSync(f) && fs.readFileSync(f, 'utf8').trim().split('\n').length >= 2) abort.abort();
    }, 50);
    let first: Awaited<ReturnType<typeof compare>>;
    try {
      first = await compare({ suite: suiteFile, log, warn: log, noReport: true, signal: abort.signal });
    } finally {
      clearInterval(watch);
    }
    expect(first.outcomes.map((o) => o.status), lines.join('\n')).to.deep.equal(['interrupted']);
    expect(fs.existsSync(path.join(runDir, 'checkpoint', 'state.json'))).to.equal(true);

    const second = await compare({ suite: suiteFile, log, warn: log, noReport: true });
    expect(second.outcomes.map((o) => `${o.action}:${o.status}`)).to.deep.equal(['ran:completed']);
    expect(fs.readFileSync(path.join(runDir, 'train.log'), 'utf8')).to.match(/resuming at epoch/);
    const epochs = (parse(fs.readFileSync(path.join(runDir, 'metrics.csv'), 'utf8'), { columns: true }) as Row[]).map((r) => Number(r.epoch));
    expect(epochs).to.deep.equal([1, 2, 3, 4, 5, 6]); // every epoch once: resumed, not restarted
  });

  it('reports a failing run and goes on with the others', async () => {
    lines.length = 0;
    // A learning rate the schema rejects cannot reach a worker; a missing dataset folder fails inside the run instead.
    const bad = writeSuite(dir, 'bad', {
      base: 'quick.yaml', seeds: [1], outputDir: path.join(dir, 'out'), overrides: TINY,
      variants: [{ name: 'ok' }, { name: 'broken', overrides: { data: { name: 'cifar10', dir: path.join(dir, 'no-such-folder'), download: false } } }],
    });
    const r = await compare({ suite: bad, jobs: 1, log, warn: log, noReport: true });
    expect(r.exitCode).to.equal(1);
    expect(r.outcomes.map((o) => `${o.spec.variant}:${o.status}`)).to.deep.equal(['ok:completed', 'broken:failed']);
    const runs = parse(fs.readFileSync(path.join(r.plan.suiteDir, 'runs.csv'), 'utf8'), { columns: true }) as Row[];
    expect(runs[1].status).to.equal('failed');
    expect(runs[1].error).to.contain('no-such-folder');
    expect(lines.some((l) => l.startsWith('  broken seed 1: failed'))).to.equal(true);
  });
});
