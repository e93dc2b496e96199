// Running a suite's runs: skip completed, resume interrupted, rerun failed/stale, respect locks, N at once; fake trainer.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { pathToFileURL } from 'node:url';
import { expect } from 'chai';
import lockfile from 'proper-lockfile';
import { aggregate } from '../../src/compare/aggregate.js';
import { executeRuns, waitPolicyFor, type LaunchRequest, type RunLauncher } from '../../src/compare/execute.js';
import { planSuite, type Plan } from '../../src/compare/plan.js';
import { configTextSha256 as sha256 } from '../../src/run/config.js';
import { runLockState } from '../../src/run/lock.js';
import { runState } from '../../src/compare/run-state.js';
import { loadSuite } from '../../src/compare/suite.js';
import { tmpDir, writeFixtureRun, writeSuite } from './helpers.js';

const quiet = { log: () => {}, warn: () => {} };

/**
 * Leaves the run's lock as a compare killed on this machine would: taken by a process that has exited, and (with
 * workerSeconds) naming a worker of it still alive for that long. Returns the worker's pid.
 */
function lockInDeadProcess(runDir: string, workerSeconds?: number): number | undefined {
  const script = `import(${JSON.stringify(pathToFileURL(path.resolve('src/run/lock.ts')).href)}).then((m) => {
    const lock = m.tryLockRun(${JSON.stringify(runDir)});
    ${workerSeconds ? `const w = require('node:child_process').spawn('sleep', ['${workerSeconds}'], { detached: true, stdio: 'ignore' });
    lock.addProcess(w.pid); console.log(w.pid);` : ''}
    process.exit(0);
  });`;
  const out = execFileSync(process.execPath, ['--import', 'tsx', '-e', script], { encoding: 'utf8' });
  return workerSeconds ? Number(out.trim()) : undefined;
}

/** A launcher that "trains" by writing a fixture run; `fail` names runs (variant/seed) that fail instead. */
function fakeLauncher(calls: LaunchRequest[], fail = new Set<string>()): RunLauncher {
  return async (req) => {
    calls.push(req);
    const key = `${req.spec.variant}/${req.spec.seed}`;
    if (fail.has(key)) {
      writeFixtureRun(req.spec, { status: 'failed', message: `fake failure of ${key}` });
      return { exitCode: 1, tail: '' };
    }
    writeFixtureRun(req.spec, { status: 'completed', error: 0.1 * req.spec.seed, epochs: [[0.5, 0.4, 1, 1.2]] });
    return { exitCode: 0, tail: '' };
  };
}

describe('compare execution', () => {
  const dir = tmpDir('exec');
  after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const plan: Plan = planSuite(loadSuite(writeSuite(dir, 'ex', {
    base: 'quick.yaml', matrix: { body: ['nin'], head: ['gap', 'fc'] }, seeds: 2, outputDir: path.join(dir, 'out'),
  })));
  const key = (r: LaunchRequest) => `${r.spec.variant}/${r.spec.seed}`;

  it('trains every run, goes on after a failure, and reruns only what is not completed', async () => {
    const calls: LaunchRequest[] = [];
    const first = await executeRuns(plan.runs, { jobs: 1, ...quiet, launcher: fakeLauncher(calls, new Set(['nin-fc/1'])) });
    expect(calls.map(key)).to.deep.equal(['nin-gap/1', 'nin-gap/2', 'nin-fc/1', 'nin-fc/2']);
    expect(first.map((o) => `${o.action}:${o.status}`)).to.deep.equal(['ran:completed', 'ran:completed', 'ran:failed', 'ran:completed']);
    expect(first[2].error).to.equal('fake failure of nin-fc/1');

    const again: LaunchRequest[] = [];
    const second = await executeRuns(plan.runs, { jobs: 1, ...quiet, launcher: fakeLauncher(again) });
    expect(again.map((r) => [key(r), r.resume])).to.deep.equal([['nin-fc/1', false]]); // failed: start over
    expect(second.map((o) => o.action)).to.deep.equal(['skipped', 'skipped', 'ran', 'skipped']);
    expect(aggregate(plan).runs.every((r) => r.record.status === 'completed')).to.equal(true);
  });

  it('resumes an interrupted run that has a checkpoint, in place', async () => {
    const spec = plan.runs[0];
    writeFixtureRun(spec, { status: 'interrupted', epochs: [[0.5, 0.4, 1, 1.2]] });
    fs.mkdirSync(path.join(spec.runDir, 'checkpoint'), { recursive: true });
    fs.writeFileSync(path.join(spec.runDir, 'checkpoint', 'state.json'), '{}');
    const calls: LaunchRequest[] = [];
    await executeRuns([spec], { jobs: 1, ...quiet, launcher: fakeLauncher(calls) });
    expect(calls.map((r) => r.resume)).to.deep.equal([true]);
    expect(fs.existsSync(path.join(spec.runDir, 'checkpoint', 'state.json'))).to.equal(true); // not cleared
  });

  it('reports a resume that failed (damaged checkpoint) as failed, and leaves the folder as it was', async () => {
    const spec = plan.runs[1];
    writeFixtureRun(spec, { status: 'interrupted', epochs: [[0.5, 0.4, 1, 1.2]] });
    fs.mkdirSync(path.join(spec.runDir, 'checkpoint'), { recursive: true });
    fs.writeFileSync(path.join(spec.runDir, 'checkpoint', 'state.json'), '{}');
    const warned: string[] = [];
    // The worker as runTraining behaves on a bad checkpoint: nothing written, exit 2, one line.
    const [o] = await executeRuns([spec], { jobs: 1, log: () => {}, warn: (l) => warned.push(l), launcher: async () =>
      ({ exitCode: 2, tail: 'compare: error: checkpoint/weights.bin: sha256 differs from state.json (damaged checkpoint)\n' }) });
    expect(o).to.include({ action: 'ran', status: 'failed', error: 'could not resume: compare: error: checkpoint/weights.bin: sha256 differs from state.json (damaged checkpoint)' });
    expect(warned.join('\n')).to.contain('the run folder is left as it was').and.not.contain('the next compare resumes it');
    expect(JSON.parse(fs.readFileSync(path.join(spec.runDir, 'summary.json'), 'utf8')).status).to.equal('interrupted');
  });

  it('starts over (in an emptied folder) an interrupted run without a checkpoint or a run of another config', async () => {
    const spec = plan.runs[1];
    writeFixtureRun({ ...spec, configSha256: 'f'.repeat(64) }, { status: 'completed', error: 0.5 });
    fs.writeFileSync(path.join(spec.runDir, 'leftover.txt'), 'x');
    const calls: LaunchRequest[] = [];
    await executeRuns([spec], { jobs: 1, ...quiet, launcher: async (req) => {
      expect(fs.readdirSync(req.spec.runDir)).to.deep.equal([]); // the stale run's files are gone
      return fakeLauncher(calls)(req);
    } });
    expect(calls.map((r) => r.resume)).to.deep.equal([false]);

    writeFixtureRun(spec, { status: 'interrupted' }); // no checkpoint/
    const again: LaunchRequest[] = [];
    await executeRuns([spec], { jobs: 1, ...quiet, launcher: fakeLauncher(again) });
    expect(again.map((r) => r.resume)).to.deep.equal([false]);
  });

  it('skips a completed run whose config.yaml predates a new schema key, but does not resume such a run', async () => {
    const spec = plan.runs[1];
    // Written by an older schema without train.checkpointMinutes: today's schema fills in the default, the same config.
    const older = (text: string) => text.replace(/^ {2}checkpointMinutes: .*\n/m, '');
    const writeOlder = (status: 'completed' | 'interrupted') => {
      writeFixtureRun(spec, { status, error: 0.3, epochs: [[0.5, 0.4, 1, 1.2]] });
      const file = path.join(spec.runDir, 'config.yaml');
      const text = older(fs.readFileSync(file, 'utf8'));
      expect(text).to.not.contain('checkpointMinutes');
      fs.writeFileSync(file, text);
      const summary = JSON.parse(fs.readFileSync(path.join(spec.runDir, 'summary.json'), 'utf8')) as { configSha256: string };
      summary.configSha256 = sha256(text);
      fs.writeFileSync(path.join(spec.runDir, 'summary.json'), JSON.stringify(summary));
    };
    writeOlder('completed');
    expect(runState(spec)).to.include({ condition: 'completed', exact: false });
    const calls: LaunchRequest[] = [];
    expect((await executeRuns([spec], { jobs: 1, ...quiet, launcher: fakeLauncher(calls) }))[0].action).to.equal('skipped');

    writeOlder('interrupted');
    fs.mkdirSync(path.join(spec.runDir, 'checkpoint'), { recursive: true });
    fs.writeFileSync(path.join(spec.runDir, 'checkpoint', 'state.json'), '{}');
    await executeRuns([spec], { jobs: 1, ...quiet, launcher: fakeLauncher(calls) });
    expect(calls.map((r) => r.resume)).to.deep.equal([false]); // runTraining resumes only an identical config.yaml

    // The same suite with its output folder spelt another way (relative, absolute) finds the same completed run.
    writeFixtureRun(spec, { status: 'completed', error: 0.3, epochs: [[0.5, 0.4, 1, 1.2]] });
    const respelt = { ...spec, config: { ...spec.config, outputDir: path.relative('.', spec.config.outputDir) }, configSha256: 'other' };
    expect(respelt.config.outputDir).to.not.equal(spec.config.outputDir);
    expect(runState(respelt)).to.include({ condition: 'completed', exact: false });

    // A config that re-validates to something else (another value) is stale.
    writeFixtureRun({ ...spec, config: { ...spec.config, train: { ...spec.config.train, epochs: 99 } } }, { status: 'completed' });
    const text = fs.readFileSync(path.join(spec.runDir, 'config.yaml'), 'utf8');
    const summary = JSON.parse(fs.readFileSync(path.join(spec.runDir, 'summary.json'), 'utf8')) as { configSha256: string };
    summary.configSha256 = sha256(text);
    fs.writeFileSync(path.join(spec.runDir, 'summary.json'), JSON.stringify(summary));
    expect(runState(spec).condition).to.equal('stale');
  });

  it('waits for a run another compare holds and reports its result (completed or failed), without training it', async () => {
    const spec = plan.runs[2];
    for (const end of ['completed', 'failed'] as const) {
      writeFixtureRun(spec, { status: 'running' });
      // Another machine's compare: a refreshed lock without an owner record this machine can check.
      const release = await lockfile.lock(spec.runDir, { realpath: false, lockfilePath: `${spec.runDir}.lock` });
      const calls: LaunchRequest[] = [];
      const pending = executeRuns([spec], { jobs: 1, ...quiet, pollMs: 20, launcher: fakeLauncher(calls) });
      try {
        await sleep(300);
        expect(calls).to.have.length(0);
        expect(aggregate(plan).runs[2].record.status).to.equal('running'); // locked: really running
        writeFixtureRun(spec, { status: end, error: 0.2, epochs: [[0.5, 0.4, 1, 1.2]], message: 'theirs' }); // the other one ends it
      } finally {
        await release();
      }
      const out = await pending;
      expect(calls).to.have.length(0);
      expect(out.map((o) => `${o.action}:${o.status}`)).to.deep.equal([`locked:${end}`]);
    }
  });

  it('takes over at once a lock whose compare died on this machine, and resumes the run', async () => {
    const spec = plan.runs[2];
    writeFixtureRun(spec, { status: 'running', epochs: [[0.5, 0.4, 1, 1.2]] });
    fs.mkdirSync(path.join(spec.runDir, 'checkpoint'), { recursive: true });
    fs.writeFileSync(path.join(spec.runDir, 'checkpoint', 'state.json'), '{}');
    lockInDeadProcess(spec.runDir);
    expect(runLockState(spec.runDir)).to.equal('stale');
    expect(aggregate(plan).runs[2].record.status).to.equal('interrupted'); // nobody holds it: it died
    const calls: LaunchRequest[] = [];
    // The lock's mtime is fresh: only its dead owner makes it stale.
    const out = await executeRuns([spec], { jobs: 1, ...quiet, staleMs: 600_000, launcher: fakeLauncher(calls) });
    expect(calls.map((r) => r.resume)).to.deep.equal([true]);
    expect(out.map((o) => `${o.action}:${o.status}`)).to.deep.equal(['ran:completed']);
    expect(fs.existsSync(`${spec.runDir}.lock`)).to.equal(false);
  });

  it('waits for the worker of a compare that died before taking its run over', async () => {
    const spec = plan.runs[2];
    writeFixtureRun(spec, { status: 'running' });
    const worker = lockInDeadProcess(spec.runDir, 1.5);
    expect(runLockState(spec.runDir)).to.equal('orphaned');
    const lines: string[] = [];
    const calls: LaunchRequest[] = [];
    const t0 = Date.now();
    const out = await executeRuns([spec], { jobs: 1, log: (l) => lines.push(l), warn: () => {}, pollMs: 50, launcher: fakeLauncher(calls) });
    expect(Date.now() - t0).to.be.above(500); // not before the worker's sleep ended
    expect(lines.join('\n')).to.contain(`waiting for its worker (pid ${worker}) to stop`);
    expect(out.map((o) => `${o.action}:${o.status}`)).to.deep.equal(['ran:completed']);
  });

  it('lets two compares on one suite share the runs, each run trained once', async () => {
    fs.rmSync(plan.suiteDir, { recursive: true, force: true });
    const calls: LaunchRequest[] = [];
    const inner = fakeLauncher(calls);
    // Each "training" yields to the event loop a few times, so the two compares interleave.
    const slow: RunLauncher = async (req) => {
      for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
      return inner(req);
    };
    const [a, b] = await Promise.all([
      executeRuns(plan.runs, { jobs: 1, ...quiet, launcher: slow }),
      executeRuns(plan.runs, { jobs: 1, ...quiet, launcher: slow }),
    ]);
    expect(calls.map(key).sort()).to.deep.equal(['nin-fc/1', 'nin-fc/2', 'nin-gap/1', 'nin-gap/2']);
    const ran = [...a, ...b].filter((o) => o.action === 'ran').length;
    expect(ran).to.equal(4);
    expect([...a, ...b].filter((o) => o.action === 'locked').length).to.be.above(0); // they did meet
    expect(aggregate(plan).runs.every((r) => r.record.status === 'completed')).to.equal(true);
  });

  it('records why a worker died before writing a summary', async () => {
    const spec = plan.runs[3];
    fs.rmSync(spec.runDir, { recursive: true, force: true });
    const out = await executeRuns([spec], { jobs: 1, ...quiet, launcher: async () => ({ exitCode: 134, tail: 'line 1\nFATAL ERROR: heap out of memory\n' }) });
    expect(out[0].status).to.equal('failed');
    expect(out[0].error).to.equal('FATAL ERROR: heap out of memory');
    const rec = aggregate(plan).runs[3].record;
    expect([rec.status, rec.error]).to.deep.equal(['failed', 'FATAL ERROR: heap out of memory']);
  });

  it('runs N at once and no more', async () => {
    fs.rmSync(plan.suiteDir, { recursive: true, force: true });
    let active = 0;
    let most = 0;
    let openGate: () => void = () => {};
    const gate = new Promise<void>((r) => (openGate = r));
    const calls: LaunchRequest[] = [];
    const inner = fakeLauncher(calls);
    const out = await executeRuns(plan.runs, { jobs: 2, ...quiet, launcher: async (req) => {
      active++;
      most = Math.max(most, active);
      if (active === 2) openGate();
      await gate; // the first run waits until a second one is running beside it
      const r = await inner(req);
      active--;
      return r;
    } });
    expect(most).to.equal(2);
    expect(out.map((o) => o.status)).to.deep.equal(['completed', 'completed', 'completed', 'completed']);
    // Runs side by side get OpenMP threads that sleep when idle, unless the user chose a policy.
    expect(calls.map((c) => c.env?.OMP_WAIT_POLICY)).to.deep.equal(
      Array(4).fill(process.env.OMP_WAIT_POLICY ?? 'passive'));
  });

  it("sets OMP_WAIT_POLICY=passive only for runs trained side by side, and never over the user's choice", () => {
    expect(waitPolicyFor(2, { A: '1' })).to.deep.equal({ A: '1', OMP_WAIT_POLICY: 'passive' });
    expect(waitPolicyFor(1, { A: '1' })).to.deep.equal({ A: '1' });
    expect(waitPolicyFor(3, { OMP_WAIT_POLICY: 'active' })).to.deep.equal({ OMP_WAIT_POLICY: 'active' });
  });

  it('starts no further run once stopped', async () => {
    fs.rmSync(plan.suiteDir, { recursive: true, force: true });
    const abort = new AbortController();
    const calls: LaunchRequest[] = [];
    const inner = fakeLauncher(calls);
    const out = await executeRuns(plan.runs, { jobs: 1, ...quiet, signal: abort.signal, launcher: async (req) => {
      abort.abort();
      return inner(req);
    } });
    expect(calls).to.have.length(1);
    expect(out).to.have.length(1);
  });
});
