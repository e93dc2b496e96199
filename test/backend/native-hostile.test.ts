// Every native kernel under hostile shapes, each group in a child process: the cpu backend's result, or the cpu
// backend's error as a clean JS Error; a crash (segfault, abort) fails the group instead of killing mocha.
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { expect } from 'chai';

import { NATIVE_KERNELS } from '../../src/backend/native/register.js';
import type { CaseReport } from './native-hostile-child.js';
import { HOSTILE_GROUPS } from './native-hostile-cases.js';
import { nativeReady } from './helpers.js';
import { needsNative } from '../requires.js';

const CHILD = path.resolve('test/backend/native-hostile-child.ts');

describe('native backend: hostile shapes (one child process per group)', function () {
  this.timeout(120_000);
  before(function () {
    needsNative(this, nativeReady());
  });

  const reached = new Set<string>();
  for (const group of Object.keys(HOSTILE_GROUPS)) {
    it(`${group}: same as cpu, or an Error where cpu throws too; never a crash`, () => {
      const child = spawnSync(process.execPath, ['--import', 'tsx', CHILD, group], { encoding: 'utf8', maxBuffer: 1 << 24 });
      const lines = child.stdout.trim().split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as CaseReport | { kernels: string[] });
      for (const l of lines) if ('kernels' in l) for (const k of l.kernels) reached.add(k);
      const reports = lines.filter((l): l is CaseReport => 'case' in l);
      const last = reports.at(-1);
      // A crash leaves the case it was in as the last line, with outcome 'start'.
      expect(child.signal, `crashed in "${last?.case}":\n${child.stderr}`).to.equal(null);
      expect(child.status, child.stderr).to.equal(0);
      const done = reports.filter((r) => r.outcome !== 'start');
      expect(done.length).to.be.above(5);
      // cpu gave a result that native did not (an error or other numbers), or the other way round.
      const bad = done.filter((r) => r.outcome !== 'same' && r.outcome !== 'both-error');
      expect(bad.map((r) => `${r.case}: ${r.outcome}: ${r.detail}`)).to.deep.equal([]);
    });
  }

  it('the groups reach every kernel the native backend registers', () => {
    expect(NATIVE_KERNELS.map((k) => k.kernelName).filter((k) => !reached.has(k))).to.deep.equal([]);
  });
});
