// The `gaplab` command: subcommands routed to the entry points, completion, and --help that states every flag's default.
import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { route } from '../../src/cli/gaplab-route.js';

const gaplab = (...args: string[]) => spawnSync(process.execPath, ['bin/gaplab.mjs', ...args], { encoding: 'utf8', timeout: 60_000 });

describe('gaplab command', function () {
  this.timeout(120_000);

  it('routes a subcommand to its entry point with its own argv, and completion of its flags to it too', () => {
    expect(route(['node', 'gaplab', 'train', '--config', 'x'])).to.deep.equal({ sub: 'train', argv: ['node', 'gaplab', '--config', 'x'] });
    expect(route(['node', 'gaplab', '--get-yargs-completions', 'gaplab', 'compare', '--su']))
      .to.deep.equal({ sub: 'compare', argv: ['node', 'gaplab', '--get-yargs-completions', 'compare', '--su'] });
    expect(route(['node', 'gaplab', '--get-yargs-completions', 'gaplab', 'tr'])).to.equal(undefined);
    expect(route(['node', 'gaplab', '--help'])).to.equal(undefined);
    expect(route(['node', 'gaplab', 'toString'])).to.equal(undefined);
  });

  it('runs train with a positional config (gaplab train <config> --print-config)', () => {
    const r = gaplab('train', 'quick-nin-gap', '--set', 'train.epochs=3', '--print-config');
    expect(r.status, r.stderr).to.equal(0);
    expect(r.stdout).to.match(/^experiment: quick-nin-gap\n/).and.match(/\n {2}epochs: 3\n/);
  });

  it('an unknown command: one line, exit 2', () => {
    const r = gaplab('trian');
    expect(r.status).to.equal(2);
    expect(r.stderr).to.equal('gaplab: Unknown argument: trian\n(see gaplab --help)\n');
  });

  it('completes subcommands and their flags', () => {
    expect(gaplab('--get-yargs-completions', 'gaplab', '').stdout.split('\n')).to.include.members(['train', 'compare', 'cam', 'bench', 'gpu-check']);
    expect(gaplab('--get-yargs-completions', 'gaplab', 'compare', '--').stdout.split('\n')).to.include.members(['--suite', '--dry-run', '--jobs']);
    const script = gaplab('completion');
    expect(script.status).to.equal(0);
    expect(script.stdout).to.contain('_gaplab_yargs_completions');
  });

  for (const sub of ['train', 'compare', 'cam', 'bench', 'gpu-check']) {
    it(`${sub} --help lists every flag with its default`, () => {
      const r = gaplab(sub, '--help');
      expect(r.status, r.stderr).to.equal(0);
      // The Options section (and Positionals), wrapped continuation lines joined; --help, --version and required ones aside.
      const sections = r.stdout.split('\n\n').filter((b) => /^(Options|Positionals):/.test(b)).join('\n');
      const text = sections.replace(/\n {10,}(?=[^ -])/g, ' ');
      const options = text.split('\n').filter((l) => /^ +(-\w, )?-?-?[\w-]+ /.test(l) && !/--(help|version)\b|\[required\]/.test(l));
      expect(options.length, r.stdout).to.be.above(2);
      for (const line of options) expect(line, `${sub}: ${line.trim()}`).to.match(/\[default: .+\]|\(default: [^)]+\)/);
    });
  }
});
