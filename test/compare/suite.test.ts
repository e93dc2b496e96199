// Suite files: validation with key paths, variant expansion and merge order, deterministic run folders, shards.
import fs from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import { planSuite, withoutDefaults } from '../../src/compare/plan.js';
import { parseShard, shardRuns } from '../../src/compare/shard.js';
import { loadSuite } from '../../src/compare/suite.js';
import { UserError } from '../../src/errors.js';
import { tmpDir, writeSuite } from './helpers.js';

function expectUserError(fn: () => unknown, ...parts: string[]): void {
  try {
    fn();
  } catch (e) {
    expect(e).to.be.instanceOf(UserError);
    expect((e as UserError).exitCode).to.equal(2);
    for (const p of parts) expect((e as Error).message).to.contain(p);
    return;
  }
  expect.fail('expected a UserError');
}

describe('compare suites', () => {
  const dir = tmpDir('suite');
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('rejects unknown keys and bad values with their key path', () => {
    expectUserError(() => loadSuite(writeSuite(dir, 'a', { matrix: { body: ['nin'], heads: ['gap'] } })), 'matrix.heads: unknown key');
    expectUserError(() => loadSuite(writeSuite(dir, 'b', { variants: [{ config: 'quick-nin-gap', overides: {} }] })), 'variants.0.overides: unknown key');
    expectUserError(() => loadSuite(writeSuite(dir, 'c', { matrix: { body: ['nin'], head: ['gapp'] } })), 'matrix.head.0');
    expectUserError(() => loadSuite(writeSuite(dir, 'd', { seeds: 3 })), 'a suite needs `matrix` or `variants`');
    expectUserError(() => loadSuite(path.join(dir, 'nope.yaml')), 'suite not found');
  });

  it('rejects a bad config key inside a variant, naming the variant and the key', () => {
    const file = writeSuite(dir, 'e', { variants: [{ config: 'quick-nin-gap', overrides: { train: { epoch: 2 } } }] });
    expectUserError(() => planSuite(loadSuite(file)), 'variants.0 (quick-nin-gap)', 'train.epoch: unknown key');
  });

  it('expands matrix and variants, merging config file < suite overrides < variant overrides < --set', () => {
    const file = writeSuite(dir, 'mix', {
      base: 'quick.yaml',
      matrix: { body: ['nin', 'cnn'], head: ['gap', 'fc'] },
      variants: [{ name: 'nin-gap-wide', config: 'quick-nin-gap', overrides: { model: { nin: { width: 0.5 } }, train: { epochs: 3 } } }],
      overrides: { train: { epochs: 2, batchSize: 32 } },
      seeds: [5, 7],
      outputDir: path.join(dir, 'out'),
    });
    const plan = planSuite(loadSuite(file), { sets: ['train.batchSize=16'] });
    expect(plan.suite).to.equal('mix');
    expect(plan.suiteDir).to.equal(path.join(dir, 'out', 'mix'));
    expect(plan.variants.map((v) => v.name)).to.deep.equal(['nin-gap', 'nin-fc', 'cnn-gap', 'cnn-fc', 'nin-gap-wide']);
    expect(plan.variants.map((v) => `${v.body}/${v.head}`)).to.deep.equal(['nin/gap', 'nin/fc', 'cnn/gap', 'cnn/fc', 'nin/gap']);
    const wide = plan.variants[4].config;
    expect(wide.model.nin.width).to.equal(0.5);
    expect(wide.train.epochs).to.equal(3); // the variant's own override wins over the suite's
    expect(plan.variants[0].config.train.epochs).to.equal(2);
    expect(plan.variants.every((v) => v.config.train.batchSize === 16)).to.equal(true); // --set wins over all
    expect(plan.variants[0].config.data.synthetic.trainSize).to.equal(1500); // from quick.yaml
    expect(plan.runs).to.have.length(10);
    expect(plan.runs.slice(0, 2).map((r) => [r.variant, r.seed, r.config.seed])).to.deep.equal([['nin-gap', 5, 5], ['nin-gap', 7, 7]]);
    expect(plan.runs.every((r) => r.config.experiment === 'mix')).to.equal(true);
  });

  it('gives every (variant, config, seed) its own deterministic folder', () => {
    const suite = { base: 'quick.yaml', matrix: { body: ['nin'], head: ['gap', 'fc'] }, seeds: 2, outputDir: path.join(dir, 'out') };
    const a = planSuite(loadSuite(writeSuite(dir, 'det', suite)));
    const b = planSuite(loadSuite(writeSuite(dir, 'det', suite)));
    expect(a.runs.map((r) => r.runDir)).to.deep.equal(b.runs.map((r) => r.runDir));
    expect(new Set(a.runs.map((r) => r.runDir)).size).to.equal(4);
    const gap = a.variants[0];
    expect(a.runs[1].runDir).to.equal(path.join(dir, 'out', 'det', 'runs', `nin-gap-${gap.hash}`, 'seed-2'));
    // Another config for the same variant name lands in another folder; --seeds replaces the seed list.
    const c = planSuite(loadSuite(writeSuite(dir, 'det', suite)), { sets: ['train.epochs=3'], seeds: 3 });
    expect(c.seeds).to.deep.equal([1, 2, 3]);
    expect(c.variants[0].hash).to.not.equal(gap.hash);
    expect(c.runs[0].runDir).to.not.equal(a.runs[0].runDir);
    expect(a.runs[0].configSha256).to.not.equal(a.runs[1].configSha256); // the seed is part of the run's config
  });

  it('names folders by what a config sets beyond the defaults, so new schema keys do not move them', () => {
    const suite = { base: 'quick.yaml', matrix: { body: ['nin'], head: ['gap'] }, seeds: 1, outputDir: path.join(dir, 'out') };
    const plain = planSuite(loadSuite(writeSuite(dir, 'ident', suite)));
    // Spelling out a default value (checkpointMinutes: 10) is the same config, in the same folder.
    const explicit = planSuite(loadSuite(writeSuite(dir, 'ident', { ...suite, overrides: { train: { checkpointMinutes: 10 } } })));
    expect(explicit.variants[0].hash).to.equal(plain.variants[0].hash);
    expect(explicit.runs[0].configSha256).to.equal(plain.runs[0].configSha256);
    expect(withoutDefaults({ a: 1, b: { c: 2, d: [1] }, e: 3 }, { a: 1, b: { c: 2, d: [1] }, e: 4 })).to.deep.equal({ e: 3 });
    expect(withoutDefaults({ b: { c: 5, d: [1, 2] } }, { b: { c: 2, d: [1] } })).to.deep.equal({ b: { c: 5, d: [1, 2] } });
  });

  it('rejects two variants with one name', () => {
    const file = writeSuite(dir, 'dup', { variants: [{ config: 'quick-nin-gap' }, { config: 'quick-nin-gap', overrides: { seed: 3 } }] });
    expectUserError(() => planSuite(loadSuite(file)), "two variants are named 'quick-nin-gap'");
  });
});

describe('compare shards', () => {
  it('parses i/n, 0-based', () => {
    expect(parseShard('3/8')).to.deep.equal({ index: 3, count: 8 });
    expect(parseShard('0/1')).to.deep.equal({ index: 0, count: 1 });
    for (const bad of ['8/8', '1/0', '-1/4', 'a/4', '3', '1/2/3', '']) expect(parseShard(bad), bad).to.equal(undefined);
  });

  it('covers every run exactly once for any shard count', () => {
    for (const total of [0, 1, 5, 12, 37]) {
      const runs = Array.from({ length: total }, (_, index) => ({ index }));
      for (let n = 1; n <= 40; n++) {
        const seen = new Map<number, number>();
        const sizes: number[] = [];
        for (let i = 0; i < n; i++) {
          const mine = shardRuns(runs, { index: i, count: n });
          sizes.push(mine.length);
          for (const r of mine) seen.set(r.index, (seen.get(r.index) ?? 0) + 1);
        }
        expect(seen.size, `${total} runs over ${n} shards`).to.equal(total);
        expect([...seen.values()].every((c) => c === 1)).to.equal(true);
        expect(Math.max(...sizes) - Math.min(...sizes)).to.be.at.most(1); // balanced
      }
    }
    expect(shardRuns([{ index: 0 }, { index: 1 }], undefined)).to.have.length(2);
  });
});
