// Spawning the real command lines in tests: `node --import tsx src/cli/<name>.ts` or `npm run <name>`, output collected.
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import YAML from 'yaml';
import type { Config } from '../../src/config/schema.js';
import { runTraining } from '../../src/train/run.js';
import type { RunSummary } from '../../src/run/summary.js';

export const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** tfjs's own banner on stderr when tfjs-node is not installed (printed at import, not by gaplab). */
const isTfjsBanner = (line: string) => /^=+$/.test(line) || line.startsWith('Hi, looks like you are running TensorFlow.js');

/** A spawned command line whose output accumulates as it runs. */
export class Cli {
  readonly child: ChildProcess;
  stdout = '';
  stderr = '';
  /** Exit code, or 128 + n when killed by a signal (as a shell reports it), with the time it came. */
  readonly exited: Promise<{ code: number; at: number }>;

  constructor(command: string, args: string[], opts: SpawnOptions = {}) {
    this.child = spawn(command, args, { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'], ...opts });
    this.child.stdout?.on('data', (d: Buffer) => (this.stdout += d.toString()));
    this.child.stderr?.on('data', (d: Buffer) => (this.stderr += d.toString()));
    this.exited = new Promise((resolve) =>
      this.child.on('exit', (code, sig) => resolve({ code: code ?? 128 + (sig ? os.constants.signals[sig] : 0), at: Date.now() })),
    );
  }

  /** Resolves when stdout or stderr matches `re`; rejects if the process exits first or `ms` pass. */
  async waitFor(re: RegExp, ms = 120_000): Promise<void> {
    const t0 = Date.now();
    let done = false;
    void this.exited.then(() => (done = true));
    while (!re.test(this.stdout) && !re.test(this.stderr)) {
      if (done) throw new Error(`exited before ${re}:\n${this.stdout}\n${this.stderr}`);
      if (Date.now() - t0 > ms) throw new Error(`no ${re} within ${ms} ms:\n${this.stdout}\n${this.stderr}`);
      await sleep(20);
    }
  }

  /** stderr without blank lines and tfjs's banner: what gaplab printed. */
  errLines(): string[] {
    return this.stderr.split('\n').filter((l) => l.trim() !== '' && !isTfjsBanner(l));
  }
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** `node --import tsx src/cli/<name>.ts ...args`: one process, signals reach it directly. */
export function cliProcess(name: string, args: string[], opts: SpawnOptions = {}): Cli {
  return new Cli(process.execPath, ['--import', 'tsx', path.join(REPO, 'src/cli', `${name}.ts`), ...args], opts);
}

/** Runs a command line to its end: exit code and the lines gaplab wrote to stderr. */
export async function runCli(name: string, args: string[], opts: SpawnOptions = {}): Promise<{ code: number; err: string[]; out: string }> {
  const c = cliProcess(name, args, opts);
  const { code } = await c.exited;
  return { code, err: c.errLines(), out: c.stdout };
}

/** Writes a config file for `train --config`; returns its path. */
export function writeConfig(dir: string, name: string, config: unknown): string {
  const file = path.join(dir, `${name}.yaml`);
  fs.writeFileSync(file, YAML.stringify(config));
  return file;
}

export function readSummaryOf(runDir: string): RunSummary {
  return JSON.parse(fs.readFileSync(path.join(runDir, 'summary.json'), 'utf8')) as RunSummary;
}

/** The run folders under <outputDir>/<experiment> (lock folders beside them left out). */
export function runDirsIn(parent: string): string[] {
  if (!fs.existsSync(parent)) return [];
  return fs.readdirSync(parent).filter((d) => !d.endsWith('.lock')).map((d) => path.join(parent, d));
}

/** Trains `config` in this process, stopped as by Ctrl-C right after epoch 1 (at the next batch's end), with its checkpoint. */
export async function interruptedRun(config: Config): Promise<RunSummary> {
  const abort = new AbortController();
  const stopAfterEpoch1 = { onEpochEnd: (l: { epoch: number }) => void (l.epoch === 1 && abort.abort()) };
  const s = await runTraining(config, { log: () => {}, warn: () => {}, live: false, signal: abort.signal, callbacks: [stopAfterEpoch1] });
  if (s.status !== 'interrupted') throw new Error(`run ${s.runDir} ended ${s.status}, not interrupted`);
  return s;
}
