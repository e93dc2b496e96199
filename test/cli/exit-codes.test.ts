// The exit codes the README documents, each through a real command line: 0 done, 1 a run failed, 2 bad input (one line,
// no stack trace, from every command), 3 diverged, 130 interrupted (train's Ctrl-C: signals.test.ts; compare's: here).
import { expect } from 'chai';
import fs from 'node:fs';
import path from 'node:path';
import { DATA_DIR_ENV } from '../../src/data/files.js';
import { TINY, tmpDir, writeSuite } from '../compare/helpers.js';
import { microConfig } from '../train/helpers.js';
import { cliProcess, readSummaryOf, runCli, sleep, writeConfig } from './helpers.js';

/** The summary.json files under `dir`, at any depth. */
function summariesUnder(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return (fs.readdirSync(dir, { recursive: true }) as string[]).filter((f) => path.basename(f) === 'summary.json').map((f) => path.join(dir, f));
}

describe('exit codes', function () {
  this.timeout(300_000);
  const dir = tmpDir('exit-codes');
  after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const env = { ...process.env };
  delete env[DATA_DIR_ENV]; // the configs' data.dir must be the one used

  it('0: a run that completes', async () => {
    const r = await runCli('train', ['--config', writeConfig(dir, 'done', microConfig(path.join(dir, 'done'))), '--progress', 'false']);
    expect(r.code, r.err.join('\n')).to.equal(0);
    expect(r.out).to.match(/^summary: .*summary\.json$/m);
  });

  it('1: compare whose run failed (its dataset is missing)', async () => {
    const missing = path.join(dir, 'no-data');
    const suite = writeSuite(dir, 'fails', {
      base: 'quick.yaml', matrix: { body: ['nin'], head: ['gap'] }, seeds: 1, outputDir: path.join(dir, 'fails-out'),
      overrides: { ...TINY, data: { ...TINY.data, name: 'mnist', dir: missing, download: false } },
    });
    const r = await runCli('compare', ['--suite', suite, '--no-report', '--no-cam'], { env });
    expect(r.code, r.err.join('\n')).to.equal(1);
    expect(r.err.join('\n')).to.match(/nin-gap seed 1: failed: no MNIST files/);
  });

  it('2: bad input from every command, in one line without a stack trace', async () => {
    const run = path.join(dir, 'garbled');
    fs.mkdirSync(run);
    fs.writeFileSync(path.join(run, 'config.yaml'), 'model: [nin, gap\ntrain: {epochs: 3\n');
    const cases: Array<[string, string[], RegExp]> = [
      ['train', [], /^train: error: give --config <name\|file> \(or --resume <run folder>\) \(see train --help\)$/],
      ['train', ['--resume', ''], /^train: error: --resume: give the run folder to continue \(see train --help\)$/],
      ['train', ['--resume', run], new RegExp(`^train: error: ${path.join(run, 'config.yaml')}: invalid YAML: `)],
      ['train', ['--config', 'no-such-config'], /^train: error: config not found: no-such-config /],
      ['bench', ['--steps', '0'], /^bench: error: --steps >= 1, --warmup >= 0 \(see bench --help\)$/],
      ['bench', ['--rounds', '0'], /^bench: error: --rounds takes an integer >= 1 \(see bench --help\)$/],
      ['bench', ['--head', 'mlp'], /^bench: error: Invalid values: Argument: head, Given: "mlp", Choices: .* \(see bench --help\)$/],
      ['compare', ['--jobz', '2'], /^compare: error: Unknown argument: jobz \(see compare --help\)$/],
      ['cam', [], /^cam: error: Missing required argument: run \(see cam --help\)$/],
    ];
    const results = await Promise.all(cases.map(([name, args]) => runCli(name, args)));
    results.forEach((r, i) => {
      const [name, args, line] = cases[i];
      const what = `${name} ${args.join(' ')}: ${r.err.join('\n')}`;
      expect(r.code, what).to.equal(2);
      expect(r.err, what).to.have.length(1);
      expect(r.err[0], what).to.match(line);
    });
  });

  it('3: training diverged', async () => {
    // lr 10 with coupled decay 1 makes the weights grow ~9x a step: a NaN loss within a few steps (diverge-cli.test.ts).
    const sets = ['train.optimizer.lr=10', 'model.weightDecay=1', 'train.schedule.name=constant', 'train.epochs=4'];
    const r = await runCli('train', ['--config', writeConfig(dir, 'nan', microConfig(path.join(dir, 'nan'), sets)), '--progress', 'false']);
    expect(r.code, r.err.join('\n')).to.equal(3);
  });

  it('130: compare stopped by Ctrl-C, the run it stopped marked interrupted', async () => {
    const out = path.join(dir, 'stop-out');
    const suite = writeSuite(dir, 'stop', {
      base: 'quick.yaml', matrix: { body: ['nin'], head: ['gap'] }, seeds: 1, outputDir: out,
      overrides: { ...TINY, train: { ...TINY.train, epochs: 1000 } },
    });
    const c = cliProcess('compare', ['--suite', suite, '--no-report', '--no-cam'], { env, detached: true });
    try {
      // The worker writes summary.json once its signal handlers are installed and training starts.
      while (summariesUnder(out).length === 0) {
        if (c.child.exitCode !== null) throw new Error(`compare exited: ${c.stderr}`);
        await sleep(50);
      }
      process.kill(-c.child.pid!, 'SIGINT'); // a terminal's Ctrl-C: compare and its worker
      expect((await c.exited).code, c.stderr).to.equal(130);
    } finally {
      try {
        process.kill(-c.child.pid!, 'SIGKILL');
      } catch {
        // all gone
      }
    }
    const [summary] = summariesUnder(out);
    expect(readSummaryOf(path.dirname(summary)).status).to.equal('interrupted');
    expect(c.stderr).to.match(/nin-gap seed 1: interrupted after \d+ epochs \(checkpoint kept; the next compare resumes it\)/);
  });
});
