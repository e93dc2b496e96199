// The verdict sentences on fixture suites: separated, not separated, mixed signs, one seed, failed and missing runs.
// Expected numbers from per-seed differences worked out in Python (numpy mean/std, scipy t quantile, 2^n sign flips).
import fs from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import { aggregate } from '../../src/compare/aggregate.js';
import { planSuite, type Plan } from '../../src/compare/plan.js';
import { loadSuite } from '../../src/compare/suite.js';
import { points, verdicts } from '../../src/compare/verdict.js';
import { tmpDir, writeFixtureRun, writeSuite, type FixtureRun } from './helpers.js';

/** A completed one-epoch run: val acc 0.75; with `gap`, train-eval acc 0.75 + gap (a true gap); without, an old run. */
function done(error: number, gap?: number): FixtureRun {
  return { status: 'completed', error, epochs: [gap === undefined ? [0.9, 0.75, 0.4, 0.6] : [0.9, 0.75, 0.4, 0.6, 0.75 + gap, 0.5]] };
}

const FAILED: FixtureRun = { status: 'failed', message: 'boom', epochs: [[0.3, 0.3, 2, 2]] };

/** A nin suite with these heads; runs[head][seed - 1] is written as given, undefined is never started. */
function fixtureSuite(dir: string, name: string, runs: Record<string, Array<FixtureRun | undefined>>): Plan {
  const heads = Object.keys(runs);
  const seeds = Math.max(...Object.values(runs).map((r) => r.length));
  const plan = planSuite(loadSuite(writeSuite(dir, name, {
    base: 'quick.yaml', matrix: { body: ['nin'], head: heads }, seeds, outputDir: path.join(dir, 'out'),
  })));
  for (const spec of plan.runs) {
    const f = runs[spec.variant.replace(/^nin-/, '')][spec.seed - 1];
    if (f) writeFixtureRun(spec, f);
  }
  return plan;
}

describe('compare verdict', () => {
  const dir = tmpDir('verdict');
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('says which heads the seeds separate, on test error and on the gap at the selected epoch', () => {
    // gap - fc per seed: test error -3, -2.5, -3, -2, -3.5 points; gap -7, -6, -7, -6, -9 points (all one sign).
    // gap - fc-dropout: test error -1, 0, -0.5, +1, -2; gap -1, +2, +1, -2, 0 (mixed, CI across 0).
    const plan = fixtureSuite(dir, 'five', {
      gap: [done(0.2, 0.05), done(0.21, 0.04), done(0.19, 0.06), done(0.22, 0.05), done(0.2, 0.03)],
      fc: [done(0.23, 0.12), done(0.235, 0.1), done(0.22, 0.13), done(0.24, 0.11), done(0.235, 0.12)],
      'fc-dropout': [done(0.21, 0.06), done(0.21, 0.02), done(0.195, 0.05), done(0.21, 0.07), done(0.22, 0.03)],
    });
    // Means -2.8 and -7.0 points; t(0.975, 4) = 2.7764; CIs [-3.508, -2.092] and [-8.521, -5.479]; 2 of 32 flips.
    expect(verdicts(aggregate(plan).pairs, 'best')).to.deep.equal([
      'GAP vs FC (nin): test error 2.8 points lower (95% CI 2.1 to 3.5, lower on 5 of 5 seeds, p = 0.06); ' +
        'generalization gap at the best-validation epoch 7.0 points smaller (95% CI 5.5 to 8.5, smaller on 5 of 5 seeds, p = 0.06).',
      // Test error mean -0.5, CI [-1.888, 0.888]; gap mean 0, CI [-1.963, 1.963]; one tied seed in each.
      'GAP vs FC + dropout (nin): the seeds do not separate them on test error (difference \u22120.5 points, ' +
        '95% CI \u22121.9 to 0.9; lower on 3 of 5 seeds, tied on 1); the seeds do not separate them on the generalization gap at the ' +
        'best-validation epoch (difference 0.0 points, 95% CI \u22122.0 to 2.0; smaller on 2 of 5 seeds, tied on 1).',
      // fc - fc-dropout: test error +2.3, CI [1.592, 3.008]; gap +7.0, CI [4.517, 9.483].
      'FC vs FC + dropout (nin): test error 2.3 points higher (95% CI 1.6 to 3.0, higher on 5 of 5 seeds, p = 0.06); ' +
        'generalization gap at the best-validation epoch 7.0 points larger (95% CI 4.5 to 9.5, larger on 5 of 5 seeds, p = 0.06).',
    ]);
    // A suite that selects the last epoch compares the last epoch's gap (the same numbers here: one epoch).
    expect(verdicts(aggregate({ ...plan, select: 'final' }).pairs, 'final')[0]).to.contain('generalization gap at the last epoch 7.0 points smaller');
  });

  it('shows a seed that goes the other way even when the interval excludes 0', () => {
    // gap - fc: -3, -4, -2, -3, +0.5 points: mean -2.3, CI [-4.433, -0.167]; flips reaching |sum| 4.6: 4 of 32.
    const plan = fixtureSuite(dir, 'mixed', {
      gap: [done(0.2), done(0.19), done(0.2), done(0.2), done(0.215)],
      fc: [done(0.23), done(0.23), done(0.22), done(0.23), done(0.21)],
    });
    expect(verdicts(aggregate(plan).pairs, 'best')).to.deep.equal([
      'GAP vs FC (nin): test error 2.3 points lower (95% CI 0.2 to 4.4, lower on 4 of 5 seeds, p = 0.13); ' +
        'generalization gap at the best-validation epoch not recorded.',
    ]);
  });

  it('gives no interval for one paired seed and names the run that did not complete', () => {
    const plan = fixtureSuite(dir, 'one', { gap: [done(0.2, 0.05), done(0.25, 0.04)], fc: [done(0.21, 0.07), FAILED] });
    expect(verdicts(aggregate(plan).pairs, 'best')).to.deep.equal([
      'GAP vs FC (nin): one seed: no interval (test error 1.0 points lower, generalization gap at the best-validation ' +
        'epoch 2.0 points smaller); not completed: FC seed 2 (failed).',
    ]);
  });

  it('pairs only seeds both completed and lists failed and missing runs', () => {
    const plan = fixtureSuite(dir, 'holes', {
      gap: [done(0.2), done(0.21), FAILED],
      fc: [done(0.22), done(0.25), undefined],
      'fc-dropout': [undefined, undefined, undefined],
    });
    // gap - fc on seeds 1 and 2: -2 and -4 points, mean -3, CI -3 +- 12.706 * 1.414 / 1.414 = [-15.7, 9.7].
    expect(verdicts(aggregate(plan).pairs, 'best')).to.deep.equal([
      'GAP vs FC (nin): the seeds do not separate them on test error (difference \u22123.0 points, 95% CI \u221215.7 to 9.7; ' +
        'lower on 2 of 2 seeds); generalization gap at the best-validation epoch not recorded; ' +
        'not completed: GAP seed 3 (failed), FC seed 3 (missing).',
      'GAP vs FC + dropout (nin): no seed completed on both sides, nothing to compare; ' +
        'not completed: GAP seed 3 (failed), FC + dropout seeds 1, 2, 3 (missing).',
      'FC vs FC + dropout (nin): no seed completed on both sides, nothing to compare; ' +
        'not completed: FC seed 3 (missing), FC + dropout seeds 1, 2, 3 (missing).',
    ]);
  });

  it('writes points with one decimal, a minus sign, and no false zero', () => {
    expect([points(-0.021), points(0.0996), points(0.0003), points(-0.0004), points(1e-17), points(-1e-17)])
      .to.deep.equal(['\u22122.1', '10.0', '0.03', '\u22120.04', '0.0', '0.0']);
  });
});
