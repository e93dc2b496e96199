// Resume falls back to checkpoint.old when the newest checkpoint folder is missing or incomplete (a swap cut short).
import { expect } from 'chai';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import type { Config } from '../../src/config/schema.js';
import { RUN_FILES } from '../../src/run/files.js';
import { runTraining } from '../../src/train/run.js';
import { deterministicColumns, microConfig } from './helpers.js';

const { newestCheckpoint: CHECKPOINT_DIR } = RUN_FILES;

const quiet = { log: () => {}, warn: () => {}, live: false };

describe('checkpoint.old fallback', function () {
  this.timeout(300_000);
  const sets = ['train.epochs=3', 'train.checkpointMinutes=0'];
  let root: string;
  let reference: string[];

  before(async () => {
    await tf.setBackend('cpu');
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'gaplab-ckold-'));
    reference = deterministicColumns((await runTraining(microConfig(path.join(root, 'ref'), sets), quiet)).runDir);
  });

  /**
   * Trains until one batch into epoch 3 (interrupted there: checkpoint/ = epoch 3, batch 1), keeping a copy of the
   * epoch-1 checkpoint; returns the run folder and the copy.
   */
  async function interruptedRun(config: Config): Promise<{ runDir: string; epoch1: string }> {
    const abort = new AbortController();
    const epoch1 = path.join(root, `${path.basename(config.outputDir)}-epoch1`);
    const s = await runTraining(config, {
      ...quiet,
      signal: abort.signal,
      callbacks: [
        {
          // Runs after the Checkpointer's onEpochEnd: checkpoint/ holds this epoch's end.
          onEpochEnd: (l) => {
            if (l.epoch === 1) fs.cpSync(path.join(onlyRunDir(config), CHECKPOINT_DIR), epoch1, { recursive: true });
            if (l.epoch === 2) abort.abort();
          },
        },
      ],
    });
    expect(s.status).to.equal('interrupted');
    const st = JSON.parse(fs.readFileSync(path.join(s.runDir, CHECKPOINT_DIR, 'state.json'), 'utf8')) as { epoch: number; batch: number };
    expect([st.epoch, st.batch]).to.deep.equal([2, 1]);
    return { runDir: s.runDir, epoch1 };
  }

  /** The single run folder under <outputDir>/micro (created before the first epoch ends). */
  function onlyRunDir(config: Config): string {
    const parent = path.join(config.outputDir, 'micro');
    return path.join(parent, fs.readdirSync(parent)[0]);
  }

  async function resume(config: Config, runDir: string): Promise<string[]> {
    const lines: string[] = [];
    const s = await runTraining(config, { ...quiet, log: (l) => lines.push(l), runDir, resume: true });
    expect(s.status).to.equal('completed');
    // 'resuming at epoch E, batch B (checkpoint of <time>)': the position only.
    return lines.filter((l) => l.startsWith('resuming at')).map((l) => l.replace(/ \(checkpoint of .*\)$/, ''));
  }

  /**
   * What a crash may leave, applied to a run interrupted at (epoch 3, batch 1) whose epoch-1 checkpoint becomes .old
   * (older than a real .old would be, so which one was used shows in the position), and the position resume must print:
   * the checkpoint's 0-based (epoch 1, batch 0) is epoch 2, batch 0.
   */
  const CASES: Array<{ title: string; damage: (runDir: string) => void; resumesAt: string }> = [
    {
      // writeCheckpoint's state after `rename(checkpoint, checkpoint.old)`, before `rename(checkpoint.tmp, checkpoint)`.
      title: 'no checkpoint/ (crash between the two renames): resumes from checkpoint.old',
      damage: (runDir) => fs.renameSync(path.join(runDir, CHECKPOINT_DIR), path.join(runDir, `${CHECKPOINT_DIR}.tmp`)),
      resumesAt: 'epoch 2, batch 0',
    },
    {
      title: 'checkpoint/ without state.json (incomplete): resumes from checkpoint.old',
      damage: (runDir) => fs.rmSync(path.join(runDir, CHECKPOINT_DIR, 'state.json')),
      resumesAt: 'epoch 2, batch 0',
    },
    {
      title: 'both intact: the newest wins',
      damage: () => {},
      resumesAt: 'epoch 3, batch 1',
    },
  ];

  for (const [i, c] of CASES.entries()) {
    it(c.title, async () => {
      const config = microConfig(path.join(root, `case${i}`), sets);
      const { runDir, epoch1 } = await interruptedRun(config);
      c.damage(runDir);
      // Replaces the kept previous checkpoint (epoch 3, batch 0).
      fs.rmSync(path.join(runDir, `${CHECKPOINT_DIR}.old`), { recursive: true });
      fs.renameSync(epoch1, path.join(runDir, `${CHECKPOINT_DIR}.old`));
      expect(await resume(config, runDir)).to.deep.equal([`resuming at ${c.resumesAt}`]);
      expect(deterministicColumns(runDir)).to.deep.equal(reference);
    });
  }
});
