// Aggregation over fixture run folders: per-variant means/deviations, head-pair intervals, statuses, CSV files, curves.
import fs from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import { parse } from 'csv-parse/sync';
import { aggregate, type CollectedRun, type RunRecord } from '../../src/compare/aggregate.js';
import { writeOutputs } from '../../src/compare/compare.js';
import { gapCurves, learningCurves } from '../../src/compare/curves.js';
import { planSuite, type Plan } from '../../src/compare/plan.js';
import { loadSuite } from '../../src/compare/suite.js';
import { tmpDir, writeFixtureRun, writeSuite } from './helpers.js';
import type { EpochLogs } from '../../src/run/metrics.js';

const close = (a: number, b: number, tol = 1e-12) => expect(Math.abs(a - b), `${a} vs ${b}`).to.be.below(tol);

/**
 * nin-gap: 3 completed; nin-fc: 3 completed; nin-fc-dropout: 2 completed, 1 failed, written before the train-eval pass
 * (no true gap); cnn-gap: 1 stale, 1 missing.
 */
function fixtureSuite(dir: string): Plan {
  const file = writeSuite(dir, 'fix', {
    base: 'quick.yaml',
    matrix: { body: ['nin'], head: ['gap', 'fc', 'fc-dropout'] },
    variants: [{ name: 'cnn-gap', config: 'quick-cnn-gap' }],
    seeds: 3,
    outputDir: path.join(dir, 'out'),
  });
  const plan = planSuite(loadSuite(file));
  const run = (variant: string, seed: number) => plan.runs.find((r) => r.variant === variant && r.seed === seed)!;
  const gapParams = { total: 1000, body: 900, head: 100 };
  const fcParams = { total: 5000, body: 900, head: 4100 };
  // nin-gap: final train acc 0.7/0.8/0.9, val acc 0.6/0.65/0.7, train loss 0.8, val loss 1.0, train-eval acc
  // 0.7/0.77/0.84 and loss 0.8 (gaps 0.1/0.12/0.14 and 0.2); best epochs 2, 1, 2 (epoch 1's gap: 0.5 - 0.45 = 0.05).
  [0.2, 0.22, 0.24].forEach((error, i) => writeFixtureRun(run('nin-gap', i + 1), {
    status: 'completed', error, params: gapParams, bestEpoch: [2, 1, 2][i], wallSeconds: 10 + i,
    epochs: [[0.5, 0.45, 1.2, 1.3, 0.5, 1.2], [0.7 + 0.1 * i, 0.6 + 0.05 * i, 0.8, 1.0, 0.7 + 0.07 * i, 0.8]],
  }));
  // nin-fc: best = last epoch; gaps 0.25/0.27/0.29 in accuracy, 0.8/0.9/1.0 in loss.
  [0.25, 0.28, 0.31].forEach((error, i) => writeFixtureRun(run('nin-fc', i + 1), {
    status: 'completed', error, params: fcParams,
    epochs: [[0.6, 0.5, 1.0, 1.2, 0.6, 1.0], [0.9, 0.6, 0.3, 1.1 + 0.1 * i, 0.85 + 0.02 * i, 0.3]],
  }));
  writeFixtureRun(run('nin-fc-dropout', 1), { status: 'completed', error: 0.21, params: fcParams, epochs: [[0.6, 0.5, 1, 1.1]] });
  writeFixtureRun(run('nin-fc-dropout', 2), { status: 'completed', error: 0.21, params: fcParams, epochs: [[0.6, 0.5, 1, 1.1]] });
  writeFixtureRun(run('nin-fc-dropout', 3), { status: 'failed', params: fcParams, epochs: [[0.6, 0.5, 1, 1.1]], message: 'boom: out of memory' });
  // cnn-gap seed 1: a completed run of another config (stale); seed 2: still 'running' with nobody holding its lock.
  writeFixtureRun({ ...run('cnn-gap', 1), configSha256: 'x'.repeat(64) }, { status: 'completed', error: 0.1, epochs: [[0.5, 0.5, 1, 1]] });
  writeFixtureRun(run('cnn-gap', 2), { status: 'running', epochs: [[0.5, 0.5, 1, 1]] });
  return plan;
}

describe('compare aggregation', () => {
  const dir = tmpDir('agg');
  after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const plan = fixtureSuite(dir);

  it('computes per-variant means and sample deviations over completed seeds', () => {
    const agg = aggregate(plan);
    const [gap, fc, fcd, cnn] = agg.variants;
    expect(gap.variant).to.equal('nin-gap');
    expect([gap.seeds, gap.incomplete, gap.params_total, gap.params_head]).to.deep.equal([3, 0, 1000, 100]);
    close(gap.test_error_mean, 0.22);
    close(gap.test_error_std, 0.02);
    close(gap.test_loss_mean, 0.44);
    close(gap.train_acc_mean, 0.8);
    close(gap.train_acc_std, 0.1);
    close(gap.train_eval_acc_mean, 0.77); // what the gap subtracts from: gap 0.12 + val 0.65
    close(gap.val_acc_mean, 0.65);
    close(gap.gap_acc_mean, 0.12); // train-eval acc - val acc, not train acc - val acc (0.15)
    close(gap.gap_acc_std, 0.02);
    close(gap.gap_loss_mean, 0.2);
    close(gap.gap_loss_std, 0, 1e-15);
    close(gap.best_gap_acc_mean, (0.1 + 0.05 + 0.14) / 3); // seed 2's best epoch is epoch 1
    close(gap.best_gap_acc_std, 0.04509249752822895); // numpy std([0.1, 0.05, 0.14], ddof=1)
    close(gap.best_gap_loss_mean, (0.2 + 0.1 + 0.2) / 3); // epoch 1: val loss 1.3 - train-eval loss 1.2
    close(gap.best_epoch_mean, 5 / 3);
    close(gap.best_epoch_std, Math.sqrt(1 / 3)); // deviations -2/3, 1/3... : ((1/3)^2 * 2 + (2/3)^2) / 2 = 1/3
    close(gap.wall_seconds_mean, 11);
    close(fc.test_error_mean, 0.28);
    close(fc.test_error_std, 0.03);
    close(fc.gap_loss_mean, 0.9); // val loss 1.1, 1.2, 1.3 minus train loss 0.3
    close(fc.gap_loss_std, 0.1);
    expect([fcd.seeds, fcd.incomplete]).to.deep.equal([2, 1]); // the failed seed is counted apart, not averaged in
    close(fcd.test_error_mean, 0.21);
    close(fcd.test_error_std, 0);
    // Written before the train-eval pass: its gap_acc (train acc - val acc, dropout on) is not a true gap.
    expect([fcd.gap_acc_mean, fcd.best_gap_acc_mean, fcd.gap_loss_mean]).to.deep.equal([NaN, NaN, NaN]);
    expect([cnn.seeds, cnn.incomplete]).to.deep.equal([0, 3]);
    expect(cnn.test_error_mean).to.be.NaN;
  });

  it('compares every head pair of a body with Welch and bootstrap intervals', () => {
    const agg = aggregate(plan);
    expect(agg.pairs.map((p) => `${p.a}|${p.b}|${p.heads}`)).to.deep.equal([
      'nin-gap|nin-fc|gap vs fc', 'nin-gap|nin-fc-dropout|gap vs fc-dropout', 'nin-fc|nin-fc-dropout|fc vs fc-dropout',
    ]);
    const p = agg.pairs[0];
    close(p.diff, -0.06);
    close(p.welch_df, 3.4845360824742264, 1e-9); // as in stats.test.ts (SciPy ttest_ind, equal_var=False)
    close(p.welch_low, -0.12132947206118427, 1e-9);
    close(p.welch_high, 0.0013294720611842295, 1e-9);
    close(p.welch_p, 0.05297991695712669, 1e-9);
    expect(p.boot_low).to.be.within(-0.11, p.diff);
    expect(p.boot_high).to.be.within(p.diff, -0.01);
  });

  it('pairs by seed: paired test error and true-gap differences over the seeds both variants completed', () => {
    const [gf, gd] = aggregate(plan).pairs;
    // gap - fc per seed: -0.05, -0.06, -0.07. sd 0.01; t(0.975, 2) = 4.302652729749462; SciPy ttest_rel for the rest.
    const te = gf.paired.test_error;
    expect([te.n, te.aLower, te.aHigher, te.ties]).to.deep.equal([3, 3, 0, 0]);
    close(te.diff, -0.06);
    close(te.sd, 0.01, 1e-15);
    close(te.low, -0.08484137711750334, 1e-9); // -0.06 - 4.3027 * 0.01 / sqrt(3)
    close(te.high, -0.03515862288249668, 1e-9);
    close(te.pT, 0.00913261138627547, 1e-9);
    expect(te.pPerm).to.equal(0.25); // of 8 flips only +++ and --- reach |sum| 0.18
    // Gap at the best-validation epoch: (0.1, 0.05, 0.14) - (0.25, 0.27, 0.29) = (-0.15, -0.22, -0.15).
    const best = gf.paired.gap_acc_best;
    expect([best.n, best.aLower]).to.deep.equal([3, 3]);
    close(best.diff, -0.17333333333333334);
    close(best.sd, 0.04041451884327381, 1e-12);
    close(best.low, -0.2737285636941541, 1e-9);
    close(best.high, -0.07293810297251256, 1e-9);
    close(gf.paired.gap_acc_final.diff, -0.15); // the last epoch: -0.15 on every seed
    close(gf.paired.gap_acc_final.high - gf.paired.gap_acc_final.low, 0, 1e-9);
    expect(gf.incomplete).to.deep.equal([]);
    // gap - fc-dropout: seed 3 failed on fc-dropout, so seeds 1 and 2 only: -0.01 and +0.01.
    const mixed = gd.paired.test_error;
    expect([mixed.n, mixed.aLower, mixed.aHigher]).to.deep.equal([2, 1, 1]);
    close(mixed.diff, 0, 1e-15);
    close(mixed.low, -0.12706204736174694, 1e-9); // 0 - t(0.975, 1) * (sqrt(2) * 0.01) / sqrt(2)
    expect(mixed.pPerm).to.equal(1);
    expect(gd.paired.gap_acc_best.n).to.equal(0); // fc-dropout's runs have no true gap
    expect(gd.incomplete).to.deep.equal([{ variant: 'nin-fc-dropout', seed: 3, status: 'failed' }]);
  });

  it('reports each run with its status and error', () => {
    const recs = aggregate(plan).runs.map((r) => r.record);
    expect(recs).to.have.length(12);
    const st = (v: string, s: number) => recs.find((r) => r.variant === v && r.seed === s)!;
    expect(st('nin-fc-dropout', 3).status).to.equal('failed');
    expect(st('nin-fc-dropout', 3).error).to.equal('boom: out of memory');
    expect(st('nin-fc-dropout', 3).test_error).to.be.NaN;
    expect(st('cnn-gap', 1).status).to.equal('stale');
    expect(st('cnn-gap', 1).test_error).to.be.NaN; // another config's numbers are not reported
    expect(st('cnn-gap', 2).status).to.equal('interrupted');
    expect(st('cnn-gap', 3).status).to.equal('missing');
    const g2 = st('nin-gap', 2);
    expect([g2.status, g2.epochs, g2.best_epoch, g2.params_total, g2.backend]).to.deep.equal(['completed', 2, 1, 1000, 'cpu']);
    close(g2.test_error, 0.22);
    close(g2.test_error_final, 0.23);
    close(g2.best_val_acc, 0.45);
    close(g2.final_train_eval_acc, 0.77);
    close(g2.final_train_eval_loss, 0.8);
    close(g2.gap_acc, 0.12, 1e-15);
    close(g2.gap_loss, 0.2, 1e-15);
    close(g2.best_gap_acc, 0.05, 1e-15); // best epoch 1: train-eval acc 0.5 - val acc 0.45
    close(g2.best_gap_loss, 0.1, 1e-15);
    const old = st('nin-fc-dropout', 1);
    expect([old.final_train_eval_acc, old.gap_acc, old.best_gap_acc]).to.deep.equal([NaN, NaN, NaN]);
    close(old.final_train_acc, 0.6); // the training metrics as trained are still reported
  });

  it('reads unmeasured fields (NaN, stored by JSON as null) as not measured', () => {
    const one = planSuite(loadSuite(writeSuite(dir, 'nulls', { base: 'quick.yaml', matrix: { body: ['nin'], head: ['gap'] }, seeds: 1, outputDir: path.join(dir, 'nulls') })));
    writeFixtureRun(one.runs[0], { status: 'completed', error: 0.2, epochs: [[0.5, 0.45, 1.2, 1.3, 0.5, 1.2]] });
    // train.trainEvalSize 0: the train-eval fields and the gaps taken from them are NaN, which JSON writes as null.
    const file = path.join(one.runs[0].runDir, 'summary.json');
    const summary = JSON.parse(fs.readFileSync(file, 'utf8')) as { final: Record<string, unknown>; best: Record<string, unknown> };
    for (const row of [summary.final, summary.best]) for (const k of ['train_eval_acc', 'train_eval_loss', 'gap_acc', 'gap_loss']) row[k] = null;
    fs.writeFileSync(file, JSON.stringify(summary));
    const r = aggregate(one).runs[0].record;
    expect([r.final_train_eval_acc, r.final_train_eval_loss, r.gap_acc, r.gap_loss, r.best_gap_acc, r.best_gap_loss]).to.deep.equal([NaN, NaN, NaN, NaN, NaN, NaN]);
    close(r.test_error, 0.2);
  });

  it('uses the final model\'s test error when the suite selects it', () => {
    const agg = aggregate({ ...plan, select: 'final' });
    close(agg.variants[0].test_error_mean, 0.23);
  });

  it('writes runs.csv and comparison.csv with the same numbers', async () => {
    const agg = await writeOutputs(plan, { noReport: true, log: () => {}, warn: () => {} });
    const runs = parse(fs.readFileSync(path.join(plan.suiteDir, 'runs.csv'), 'utf8'), { columns: true }) as Array<Record<string, string>>;
    expect(runs).to.have.length(12);
    expect(runs[0].variant).to.equal('nin-gap');
    expect(Number(runs[0].test_error)).to.equal(0.2);
    expect(runs.find((r) => r.status === 'failed')?.error).to.equal('boom: out of memory');
    const cmp = parse(fs.readFileSync(path.join(plan.suiteDir, 'comparison.csv'), 'utf8'), { columns: true }) as Array<Record<string, string>>;
    expect(cmp.map((r) => r.kind)).to.deep.equal(['variant', 'variant', 'variant', 'variant', 'pair', 'pair', 'pair']);
    expect(Number(cmp[0].test_error_mean)).to.equal(agg.variants[0].test_error_mean);
    expect(Number(cmp[0].test_error_std)).to.equal(agg.variants[0].test_error_std);
    expect(cmp[3].test_error_mean).to.equal(''); // not measured: empty cell
    expect(cmp[4].variant).to.equal('nin-gap - nin-fc');
    expect(Number(cmp[4].welch_low)).to.equal(agg.pairs[0].welch_low);
    expect(Number(cmp[4].diff_test_error)).to.equal(agg.pairs[0].diff);
    const cols = Object.keys(runs[0]);
    expect(cols.slice(cols.indexOf('final_train_acc'), cols.indexOf('test_acc'))).to.deep.equal([
      'final_train_acc', 'final_train_loss', 'final_train_eval_acc', 'final_train_eval_loss', 'final_val_acc', 'final_val_loss', 'gap_acc', 'gap_loss', 'best_gap_acc', 'best_gap_loss',
    ]);
    expect(runs.find((r) => r.variant === 'nin-fc-dropout')?.gap_acc).to.equal(''); // no true gap: empty, not NaN or null
    const paired = agg.pairs[0].paired;
    expect([cmp[4].paired_n, cmp[4].paired_p_perm, cmp[4].paired_a_lower, cmp[4].paired_a_higher, cmp[4].paired_ties]).to.deep.equal(['3', '0.25', '3', '0', '0']);
    expect(Number(cmp[4].paired_low)).to.equal(paired.test_error.low);
    expect(Number(cmp[4].paired_p_t)).to.equal(paired.test_error.pT);
    expect(Number(cmp[4].paired_gap_acc_best_diff)).to.equal(paired.gap_acc_best.diff);
    expect(Number(cmp[4].paired_gap_acc_final_high)).to.equal(paired.gap_acc_final.high);
    expect(Number(cmp[4].paired_gap_loss_best_diff)).to.equal(paired.gap_loss_best.diff);
    expect([cmp[5].paired_n, cmp[5].paired_gap_acc_best_n, cmp[5].paired_gap_acc_best_diff]).to.deep.equal(['2', '0', '']);
    expect(cmp[0].paired_n).to.equal(''); // variant rows leave the pair columns empty
    expect(Number(cmp[0].best_gap_acc_mean)).to.equal(agg.variants[0].best_gap_acc_mean);
  });

  it('averages learning curves over seeds with a one-sd band', () => {
    const pts = learningCurves(aggregate(plan).runs, 'acc').filter((p) => p.variant === 'nin-gap' && p.series === 'train (running)');
    expect(pts.map((p) => p.epoch)).to.deep.equal([1, 2]);
    close(pts[1].mean, 0.8);
    close(pts[1].low, 0.7);
    close(pts[1].high, 0.9);
    expect(pts[1].n).to.equal(3);
    close(pts[0].low, 0.5); // no spread at epoch 1
    const inference = learningCurves(aggregate(plan).runs, 'acc').filter((p) => p.variant === 'nin-gap' && p.series === 'train (inference)');
    close(inference[1].mean, 0.77); // the fixed training sample in inference mode: gap 0.12 + val 0.65
  });

  it('draws the gap curves only from rows that hold the true gap (old runs logged running train - val)', () => {
    const row = (epoch: number, gap: number, tea?: number) =>
      ({ epoch, gap_acc: gap, gap_loss: gap, ...(tea === undefined ? {} : { train_eval_acc: tea, train_eval_loss: 1 }) }) as unknown as EpochLogs;
    const run = (seed: number, metrics: EpochLogs[]) =>
      ({ record: { variant: 'v', status: 'completed', seed } as RunRecord, metrics }) as CollectedRun;
    const pts = gapCurves([run(1, [row(1, 0.1, 0.9), row(2, 0.3, 0.95)]), run(2, [row(1, -0.2), row(2, -0.4)])])
      .filter((p) => p.metric.startsWith('accuracy'));
    expect(pts.map((p) => [p.epoch, p.mean, p.n])).to.deep.equal([[1, 0.1, 1], [2, 0.3, 1]]);
  });
});
