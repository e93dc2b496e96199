// npm run cam's command line: bad arguments and bad run folders end with one clear line and exit code 2.
import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

function cam(args: string[]): { status: number | null; stderr: string; stdout: string } {
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/cam.ts', ...args], {
    cwd: repo,
    encoding: 'utf8',
    env: { ...process.env, GAPLAB_DISABLE_NATIVE: '1' },
  });
  return { status: r.status, stderr: r.stderr, stdout: r.stdout };
}

describe('cam CLI', function () {
  this.timeout(60_000);

  it('exits 2 naming a missing run folder, without a stack trace', () => {
    const r = cam(['--run', '/nonexistent/run', '--backend', 'cpu']);
    expect(r.status).to.equal(2);
    expect(r.stderr).to.match(/^cam: error: run folder not found: \/nonexistent\/run$/m);
    expect(r.stderr).not.to.match(/\s+at /);
  });

  it('exits 2 on a folder without a model and on bad options', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gaplab-camcli-'));
    try {
      const r = cam(['--run', dir, '--backend', 'cpu']);
      expect(r.status).to.equal(2);
      expect(r.stderr).to.contain('no final model (model/model.json is missing');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
    const bad = cam(['--run', 'x', '--method', 'saliency']);
    expect(bad.status).to.equal(2);
    expect(bad.stderr).to.match(/method.*saliency/i);
    expect(cam([]).status).to.equal(2); // --run is required
  });
});
