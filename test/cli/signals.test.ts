// Ctrl-C and SIGTERM: one Ctrl-C delivered twice counts once, and `npm run train` stops with a checkpoint on Ctrl-C to its
// process group and on SIGTERM to npm alone (as a terminal and a process manager send them).
import { expect } from 'chai';
import { EventEmitter } from 'node:events';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { DUPLICATE_MS, EXIT_INTERRUPTED, interruptOnSignals } from '../../src/util/signals.js';
import { DATA_DIR_ENV } from '../../src/data/files.js';
import { RUN_FILES } from '../../src/run/files.js';
import { writeIdxFolder } from '../data/helpers.js';
import { microConfig } from '../train/helpers.js';
import { Cli, cliProcess, interruptedRun, readSummaryOf, runDirsIn, sleep, writeConfig } from './helpers.js';

const { newestCheckpoint: CHECKPOINT_DIR } = RUN_FILES;

describe('interrupt signals', () => {
  function setup(withSecond = true) {
    const source = new EventEmitter();
    const lines: string[] = [];
    const exits: number[] = [];
    let clock = 0;
    const ctl = interruptOnSignals({
      first: (sig) => `first ${sig}`, ...(withSecond ? { second: (sig: NodeJS.Signals) => `second ${sig}` } : {}), warn: (l) => lines.push(l),
      source, exit: (code) => exits.push(code), now: () => clock,
    });
    return { ctl, lines, exits, send: (sig: NodeJS.Signals, at: number) => ((clock = at), source.emit(sig, sig)) };
  }

  it('the first signal aborts; repeats within the duplicate window are the same Ctrl-C', () => {
    const s = setup();
    s.send('SIGINT', 1000);
    expect(s.ctl.signal.aborted).to.equal(true);
    s.send('SIGINT', 1005); // npm relays the terminal's SIGINT a few ms later
    s.send('SIGTERM', 1000 + DUPLICATE_MS - 1);
    expect(s.exits).to.deep.equal([]);
    expect(s.lines).to.deep.equal(['first SIGINT']);
  });

  it('a signal after the window exits 130 at once, saying so', () => {
    const s = setup();
    s.send('SIGTERM', 0);
    s.send('SIGINT', DUPLICATE_MS);
    expect(s.exits).to.deep.equal([EXIT_INTERRUPTED]);
    expect(s.lines).to.deep.equal(['first SIGTERM', 'second SIGINT']);
  });

  it('without `second` (a compare worker) later signals are ignored, and a stop made another way is not announced', () => {
    const s = setup(false);
    s.send('SIGTERM', 0);
    s.send('SIGINT', 10 * DUPLICATE_MS);
    expect([s.ctl.signal.aborted, s.exits, s.lines]).to.deep.equal([true, [], ['first SIGTERM']]);
    const t = setup(false);
    t.ctl.abort(); // the worker's parent is gone: it said so itself
    t.send('SIGTERM', 0);
    expect(t.lines).to.deep.equal([]);
  });
});

describe('npm run train: Ctrl-C and SIGTERM', function () {
  this.timeout(180_000);
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'gaplab-npm-signals-'));
  after(() => fs.rmSync(root, { recursive: true, force: true }));

  /**
   * 20 batches an epoch of ~100+ ms each on the cpu backend: longer than tsx's relay waits for an acknowledgement
   * (2 x 30 ms), shorter than the test's wait. No mid-epoch checkpoints: only the signal can stop the run mid-epoch.
   */
  function start(name: string): { npm: Cli; parent: string } {
    const out = path.join(root, name);
    const config = writeConfig(root, name, microConfig(out, [
      'data.synthetic.trainSize=336', 'model.cnn.stages=[{filters: 8, convs: 2}]', 'train.batchSize=16',
      'train.epochs=3', 'train.checkpointMinutes=0', 'train.trainEvalSize=0',
    ]));
    // Its own process group, as a terminal's foreground job.
    const npm = new Cli('npm', ['run', '--silent', 'train', '--', '--config', config, '--progress', 'false'], { detached: true });
    return { npm, parent: path.join(out, 'micro') };
  }

  /** The run stopped in epoch 1 with a checkpoint at its position, status interrupted: nothing was lost. */
  function expectStoppedMidEpoch1(parent: string): void {
    const [runDir] = runDirsIn(parent);
    const s = readSummaryOf(runDir);
    expect(s.status, JSON.stringify(s)).to.equal('interrupted');
    const st = JSON.parse(fs.readFileSync(path.join(runDir, CHECKPOINT_DIR, 'state.json'), 'utf8')) as { epoch: number; batch: number };
    expect(st.epoch).to.equal(0);
    expect(st.batch).to.be.within(1, 19);
    expect(s.stopReason).to.contain(`interrupted at epoch 1, batch ${st.batch};`);
  }

  async function groupGone(pgid: number, ms: number): Promise<boolean> {
    for (const t0 = Date.now(); Date.now() - t0 < ms; await sleep(100)) {
      try {
        process.kill(-pgid, 0);
      } catch {
        return true;
      }
    }
    return false;
  }

  function cleanup(npm: Cli): void {
    try {
      process.kill(-npm.child.pid!, 'SIGKILL'); // whatever this test started and is still running
    } catch {
      // all gone
    }
  }

  it('Ctrl-C (SIGINT to the process group) checkpoints within a batch, marks the run interrupted and exits 130', async () => {
    const { npm, parent } = start('int');
    try {
      await npm.waitFor(/^model: /m);
      await sleep(300); // into epoch 1
      process.kill(-npm.child.pid!, 'SIGINT');
      const { code } = await npm.exited;
      expect(code, npm.stderr).to.equal(130);
      // The terminal's SIGINT and npm's relay of it: one Ctrl-C, one line, the graceful path.
      expect(npm.errLines(), npm.stderr).to.deep.equal([
        'SIGINT: finishing the current batch and writing a checkpoint (press Ctrl-C again to exit at once)',
      ]);
      expectStoppedMidEpoch1(parent);
      expect(await groupGone(npm.child.pid!, 5000)).to.equal(true);
    } finally {
      cleanup(npm);
    }
  });

  it('SIGTERM to npm alone stops the trainer too (checkpoint, interrupted), leaving no process behind', async () => {
    const { npm, parent } = start('term');
    try {
      await npm.waitFor(/^model: /m);
      await sleep(300);
      process.kill(npm.child.pid!, 'SIGTERM');
      expect(await groupGone(npm.child.pid!, 20_000), 'a process of the run is still alive').to.equal(true);
      expect((await npm.exited).code).to.equal(130);
      expect(npm.errLines()[0]).to.match(/^SIGTERM: finishing the current batch/);
      expectStoppedMidEpoch1(parent);
    } finally {
      cleanup(npm);
    }
  });
});

describe('train: a second Ctrl-C after the first was acknowledged', function () {
  this.timeout(180_000);
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'gaplab-second-ctrl-c-'));
  const sockets: net.Socket[] = [];
  // A proxy that takes connections and never answers: a download through it waits, with the event loop free.
  const silentProxy = net.createServer((socket) => void sockets.push(socket));
  const savedDataDir = process.env[DATA_DIR_ENV];
  before(async () => {
    await tf.setBackend('cpu');
    await new Promise<void>((resolve) => silentProxy.listen(0, '127.0.0.1', resolve));
    delete process.env[DATA_DIR_ENV]; // data.dir below must be the one used
  });
  after(() => {
    for (const socket of sockets) socket.destroy();
    silentProxy.close();
    if (savedDataDir !== undefined) process.env[DATA_DIR_ENV] = savedDataDir;
    fs.rmSync(root, { recursive: true, force: true });
  });

  it('exits 130 at once while the first stop still waits (a dataset download), leaving the last checkpoint to resume', async () => {
    const data = path.join(root, 'data');
    const mnist = () => writeIdxFolder(path.join(data, 'mnist'), { n: 64, m: 16, side: 8, gzip: false, seed: 3 });
    mnist();
    const config = microConfig(path.join(root, 'out'), ['data.name=mnist', `data.dir=${data}`, 'data.download=true', 'train.epochs=3']);
    const { runDir } = await interruptedRun(config);
    const state = () => fs.readFileSync(path.join(runDir, CHECKPOINT_DIR, 'state.json'), 'utf8');
    const checkpointed = state();

    // Resumed without its dataset files: it downloads them, through a proxy that never answers.
    fs.rmSync(path.join(data, 'mnist'), { recursive: true });
    const proxy = `http://127.0.0.1:${(silentProxy.address() as net.AddressInfo).port}`;
    const env = { ...process.env, HTTPS_PROXY: proxy, https_proxy: proxy, HTTP_PROXY: proxy, http_proxy: proxy, NO_PROXY: '', no_proxy: '' };
    const c = cliProcess('train', ['--resume', runDir, '--progress', 'false'], { env });
    try {
      await c.waitFor(/not found in .*; downloading/);
      c.child.kill('SIGINT');
      await c.waitFor(/^SIGINT: finishing the current batch/m); // acknowledged: the run would stop once the download returns
      await sleep(DUPLICATE_MS + 200); // so the second cannot be taken for a relayed copy of the first
      c.child.kill('SIGINT');
      const exit = await Promise.race([c.exited, sleep(5000).then(() => undefined)]);
      expect(exit?.code, `still running 5 s after the second SIGINT:\n${c.stderr}`).to.equal(EXIT_INTERRUPTED);
    } finally {
      c.child.kill('SIGKILL'); // if still waiting for the proxy
    }
    expect(c.errLines().at(-1)).to.equal('SIGINT again: exited at once, without finishing the batch or writing a checkpoint; ' +
      `the last complete checkpoint resumes with: npm run train -- --resume ${runDir}`);
    expect(state()).to.equal(checkpointed);

    mnist(); // the same files again
    const resumed = cliProcess('train', ['--resume', runDir, '--progress', 'false'], { env: { ...process.env } });
    expect((await resumed.exited).code, resumed.stderr).to.equal(0);
    const at0 = JSON.parse(checkpointed) as { epoch: number; batch: number }; // (1, 1), 0-based
    expect(resumed.stdout).to.contain(`resuming at epoch ${at0.epoch + 1}, batch ${at0.batch} `);
    expect(readSummaryOf(runDir).status).to.equal('completed');
  });
});
