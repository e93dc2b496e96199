// mkdirSafe: mkdir -p that fails at once under /proc (where Node 20's recursive mkdirSync spins forever) and names the cause.
import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { mkdirSafe } from '../../src/io/mkdir-safe.js';
import { removeDir, tempDir } from '../data/helpers.js';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

describe('io/mkdir-safe', function () {
  this.timeout(30_000);
  let dir: string;
  beforeEach(() => (dir = tempDir('gaplab-mkdir-')));
  afterEach(() => removeDir(dir));

  it('creates missing parents, accepts an existing folder, and resolves relative paths', () => {
    const deep = path.join(dir, 'a', 'b', 'c');
    mkdirSafe(deep);
    expect(fs.statSync(deep).isDirectory()).to.equal(true);
    mkdirSafe(deep);
    mkdirSafe(path.join(dir, 'a'));
    mkdirSafe(path.relative(process.cwd(), path.join(dir, 'rel', 'x')));
    expect(fs.statSync(path.join(dir, 'rel', 'x')).isDirectory()).to.equal(true);
  });

  it('a file in the way is ENOTDIR, whether it is the folder itself or a parent', () => {
    fs.writeFileSync(path.join(dir, 'f'), '');
    for (const target of [path.join(dir, 'f'), path.join(dir, 'f', 'sub', 'deeper')]) {
      expect(() => mkdirSafe(target)).to.throw().with.property('code', 'ENOTDIR');
    }
    expect(fs.readFileSync(path.join(dir, 'f'), 'utf8')).to.equal('');
  });

  it('under /proc it fails at once with ENOENT (a child process, so a hang would be killed, not block mocha)', () => {
    const script = `import { mkdirSafe } from './src/io/mkdir-safe.ts';
      try { mkdirSafe('/proc/gaplab-mkdir-test/a/b'); console.log('created'); } catch (e) { console.log(e.code); }`;
    const t = Date.now();
    const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: repo, encoding: 'utf8', timeout: 20_000 });
    expect(r.signal, 'killed by the timeout: mkdirSafe hung').to.equal(null);
    expect(r.stdout.trim()).to.equal('ENOENT');
    expect(Date.now() - t).to.be.lessThan(20_000);
  });

  it('train with outputDir under /proc: one line naming the folder, exit 2, at once (it used to spin at 100% CPU)', () => {
    const r = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/train.ts', '--config', 'quick-nin-gap', '--set', 'outputDir=/proc/gaplab-x'],
      { cwd: repo, encoding: 'utf8', timeout: 25_000 });
    expect(r.signal, 'killed by the timeout: train hung').to.equal(null);
    expect(r.status).to.equal(2);
    expect(r.stderr.trim()).to.match(/^train: error: output folder \/proc\/gaplab-x\/quick-nin-gap is not writable \(ENOENT\)$/);
  });
});
