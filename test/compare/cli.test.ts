// npm run compare's command line: bad suites and arguments exit 2 with one line naming the problem, no stack trace.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { TSX_LOADER } from '../../src/compare/execute.js';
import { TINY, tmpDir, writeSuite } from './helpers.js';

const CLI = fileURLToPath(new URL('../../src/cli/compare.ts', import.meta.url));
const run = (args: string[]) =>
  spawnSync(process.execPath, ['--import', TSX_LOADER, CLI, ...args], { encoding: 'utf8', timeout: 120_000 });

describe('compare command line', function () {
  this.timeout(180_000);
  const dir = tmpDir('cli');
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('exits 2 with the key path for an unknown suite key', () => {
    const r = run(['--suite', writeSuite(dir, 'typo', { matrix: { body: ['nin'], head: ['gap'] }, seed: 3 }), '--collect']);
    expect(r.status).to.equal(2);
    expect(r.stderr).to.contain('invalid suite:');
    expect(r.stderr).to.contain('seed: unknown key');
    expect(r.stderr).to.not.contain('    at '); // no stack trace
  });

  it('exits 2 for a shard outside 0..n-1 and for a bad --jobs', () => {
    const suite = writeSuite(dir, 'ok', { base: 'quick.yaml', matrix: { body: ['nin'], head: ['gap'] }, seeds: 1, outputDir: path.join(dir, 'out'), overrides: TINY });
    const shard = run(['--suite', suite, '--shard', '2/2']);
    expect([shard.status, shard.stderr.trim()]).to.deep.equal([2, 'compare: error: --shard 2/2: expected i/n with 0 <= i < n (0-based), e.g. 0/4']);
    expect(run(['--suite', suite, '--jobs', '0']).status).to.equal(2);
    const collect = run(['--suite', suite, '--collect', '--no-report']);
    expect(collect.status, collect.stderr).to.equal(0);
    expect(collect.stdout).to.contain('nin-gap seed 1: missing');
  });
});
