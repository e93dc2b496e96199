// The sbatch route for real: a one-node Slurm cluster (munged, slurmctld, slurmd) in a temp folder runs the example array.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { compare } from '../../src/compare/compare.js';
import { TINY, tmpDir, writeSuite } from './helpers.js';
import { needs } from '../requires.js';

const REPO = fileURLToPath(new URL('../..', import.meta.url));
const BINARIES = ['munged', 'slurmctld', 'slurmd', 'sbatch', 'squeue', 'sinfo'];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function which(cmd: string): string | undefined {
  for (const d of (process.env.PATH ?? '').split(':').concat(['/usr/sbin', '/usr/bin', '/sbin'])) {
    const p = path.join(d, cmd);
    if (fs.existsSync(p)) return p;
  }
  return undefined;
}

/** A TCP port nobody listens on right now (so parallel test runs do not share a cluster). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

describe('compare on a one-node Slurm cluster', function () {
  this.timeout(900_000);
  let dir = '';
  const daemons: ChildProcess[] = [];
  let env: NodeJS.ProcessEnv = {};
  const run = (cmd: string, args: string[]) => spawnSync(which(cmd) ?? cmd, args, { env, encoding: 'utf8' });

  before(async function () {
    // needs root and slurm-wlm + munge
    needs(this, process.getuid?.() === 0 && BINARIES.every((b) => which(b)), `root and ${BINARIES.join(', ')} (apt-get install slurm-wlm munge)`);
    dir = tmpDir('slurm');
    fs.chmodSync(dir, 0o711); // munged insists on a non-writable key folder; its socket must be reachable
    const host = os.hostname().split('.')[0];
    const [ctld, slurmd] = [await freePort(), await freePort()];
    fs.writeFileSync(path.join(dir, 'munge.key'), Buffer.from(Array.from({ length: 1024 }, () => Math.floor(Math.random() * 256))), { mode: 0o400 });
    for (const d of ['state', 'spool']) fs.mkdirSync(path.join(dir, d));
    const conf = path.join(dir, 'slurm.conf');
    fs.writeFileSync(conf, [
      'ClusterName=gaplabtest', `SlurmctldHost=${host}`, 'SlurmUser=root', 'SlurmdUser=root',
      'AuthType=auth/munge', `AuthInfo=socket=${dir}/munge.socket`, 'CredType=cred/munge',
      `SlurmctldPort=${ctld}`, `SlurmdPort=${slurmd}`, `StateSaveLocation=${dir}/state`, `SlurmdSpoolDir=${dir}/spool`,
      `SlurmctldPidFile=${dir}/slurmctld.pid`, `SlurmdPidFile=${dir}/slurmd.pid`,
      `SlurmctldLogFile=${dir}/slurmctld.log`, `SlurmdLogFile=${dir}/slurmd.log`,
      'ProctrackType=proctrack/linuxproc', 'TaskPlugin=task/none', 'SelectType=select/cons_tres', 'SelectTypeParameters=CR_Core',
      'ReturnToService=2', 'MpiDefault=none', 'JobCompType=jobcomp/none', 'AccountingStorageType=accounting_storage/none',
      `NodeName=${host} CPUs=2 RealMemory=1000 State=UNKNOWN`, 'PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP', '',
    ].join('\n'));
    env = { ...process.env, SLURM_CONF: conf };
    const start = (cmd: string, args: string[]) => {
      const p = spawn(which(cmd) as string, args, { env, stdio: ['ignore', 'ignore', fs.openSync(path.join(dir, `${cmd}.stderr`), 'a')] });
      daemons.push(p);
    };
    // Foreground daemons (-F/-D): this test owns their processes and stops them by pid.
    start('munged', ['-F', '--force', `--key-file=${dir}/munge.key`, `--socket=${dir}/munge.socket`, `--pid-file=${dir}/munged.pid`,
      `--log-file=${dir}/munged.log`, `--seed-file=${dir}/munged.seed`]);
    for (let i = 0; i < 50 && !fs.existsSync(path.join(dir, 'munge.socket')); i++) await sleep(200);
    start('slurmctld', ['-D', '-f', conf]);
    start('slurmd', ['-D', '-f', conf]);
    let state = '';
    for (let i = 0; i < 60 && state !== 'idle'; i++) {
      await sleep(1000);
      state = run('sinfo', ['-h', '-o', '%T']).stdout?.trim() ?? '';
    }
    expect(state, `the node did not come up; see ${dir}/slurmctld.log`).to.equal('idle');
  });

  after(async () => {
    for (const p of daemons.reverse()) {
      if (p.exitCode !== null || p.signalCode !== null) continue;
      const gone = new Promise((r) => p.once('exit', r));
      p.kill('SIGTERM');
      await Promise.race([gone, sleep(10_000)]);
      if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
    }
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('runs the example array, each run exactly once, and collects', async () => {
    const suite = writeSuite(dir, 'slurm-tiny', {
      base: path.join(REPO, 'configs', 'quick.yaml'), matrix: { body: ['nin'], head: ['gap', 'fc'] }, seeds: 2,
      outputDir: path.join(dir, 'exp'), overrides: TINY,
    });
    // Three shards over four runs (uneven on purpose), one CPU each so they run side by side.
    const sub = run('sbatch', ['--parsable', '--array=0-2', '--cpus-per-task=1', `--chdir=${REPO}`,
      `--output=${dir}/slurm-%A_%a.out`, path.join(REPO, 'examples', 'slurm-array.sbatch'), suite]);
    expect(sub.status, sub.stderr).to.equal(0);
    const job = sub.stdout.trim().split(';')[0];
    for (let i = 0; i < 600; i++) {
      await sleep(1000);
      if (run('squeue', ['-h', '-j', job]).stdout.trim() === '') break;
    }
    expect(run('squeue', ['-h', '-j', job]).stdout.trim(), 'the array did not finish').to.equal('');

    const logs = [0, 1, 2].map((k) => fs.readFileSync(path.join(dir, `slurm-${job}_${k}.out`), 'utf8'));
    logs.forEach((l, k) => expect(l).to.contain(`shard ${k}/3`));
    const trained = logs.flatMap((l) => [...l.matchAll(/\] (\S+) seed (\d+): training/g)].map((m) => `${m[1]}/${m[2]}`)).sort();
    expect(trained).to.deep.equal(['nin-fc/1', 'nin-fc/2', 'nin-gap/1', 'nin-gap/2']); // each run once, in one shard

    const lines: string[] = [];
    const r = await compare({ suite, collect: true, noCam: true, log: (l) => lines.push(l), warn: (l) => lines.push(l) });
    expect(r.agg!.runs.map((x) => `${x.record.variant}/${x.record.seed}:${x.record.status}`)).to.deep.equal([
      'nin-gap/1:completed', 'nin-gap/2:completed', 'nin-fc/1:completed', 'nin-fc/2:completed',
    ]);
    expect(fs.existsSync(path.join(r.plan.suiteDir, 'report.html'))).to.equal(true);
  });
});
