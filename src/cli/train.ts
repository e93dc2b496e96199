// npm run train -- --config nin-gap.yaml [--set key=value ...] | --resume <run folder>: parses arguments, runs training.
import fs from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { loadConfig, validateConfig } from '../config/load.js';
import type { Config } from '../config/schema.js';
import { UserError } from '../errors.js';
import { runTraining } from '../train/run.js';
import { cli, log, main, warn } from './common.js';

/** The resolved config a run folder was started with. */
function runFolderConfig(runDir: string): Config {
  const file = path.join(runDir, 'config.yaml');
  if (!fs.existsSync(file)) throw new UserError(`${runDir}: not a run folder (no config.yaml)`);
  return validateConfig(YAML.parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown>, file);
}

/** First SIGINT/SIGTERM: finish the batch, checkpoint, exit 130. Second: exit at once (checkpoints are atomic). */
function interruptOnSignals(): AbortController {
  const ctl = new AbortController();
  const onSignal = (sig: NodeJS.Signals) => {
    if (ctl.signal.aborted) process.exit(130);
    warn(`\n${sig}: finishing the current batch and writing a checkpoint (press Ctrl-C again to exit at once)`);
    ctl.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return ctl;
}

main('train', async () => {
  const args = await cli(process.argv, 'train')
    .usage('$0 --config <name|file.yaml> [--set key.path=value ...]\n$0 --resume <run folder>')
    .option('config', { alias: 'c', type: 'string', describe: 'config name (under configs/) or YAML file' })
    .option('set', { type: 'string', array: true, describe: 'override a config key, e.g. train.epochs=5' })
    .option('resume', { type: 'string', describe: 'continue an interrupted run folder from its last checkpoint' })
    .option('backend', { type: 'string', choices: ['auto', 'native', 'tensorflow', 'cpu'], describe: 'shortcut for --set backend=...' })
    .option('seed', { type: 'number', describe: 'shortcut for --set seed=...' })
    .option('progress', { type: 'boolean', describe: 'live progress bar (default: when stderr is a terminal)' })
    .conflicts('resume', ['config', 'set', 'seed', 'backend'])
    .check((a) => {
      if (!a.config && !a.resume) throw new Error('give --config <name|file> (or --resume <run folder>)');
      return true;
    })
    .example('$0 --config nin-gap.yaml', "the paper's NIN + GAP on CIFAR-10")
    .example('$0 --config quick-nin-gap --set train.epochs=3', 'a quick run on the built-in data')
    .example('$0 --resume experiments/nin-gap/20261128-101500-s1-ab12', 'continue after a crash or Ctrl-C')
    .parseAsync();
  const signal = interruptOnSignals().signal;
  const common = { log, warn, signal, ...(args.progress !== undefined ? { live: args.progress } : {}) };
  let summary;
  if (args.resume) {
    const runDir = path.resolve(args.resume);
    const config = runFolderConfig(runDir);
    summary = await runTraining(config, { ...common, runDir, resume: true });
  } else {
    const sets = (args.set ?? []).map(String);
    if (args.backend) sets.push(`backend=${args.backend}`);
    if (args.seed !== undefined) sets.push(`seed=${args.seed}`);
    const { config, file } = loadConfig(args.config as string, sets);
    summary = await runTraining(config, { ...common, configFile: file });
  }
  log(`summary: ${path.join(summary.runDir, 'summary.json')}`);
  return summary.status === 'interrupted' ? 130 : 0;
});
