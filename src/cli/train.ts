// npm run train -- --config nin-gap.yaml [--set key=value ...] | --resume <run folder>: parses arguments, runs training.
import path from 'node:path';
import { configToYaml, loadConfig } from '../config/load.js';
import { BACKEND_NAMES, type Config } from '../config/schema.js';
import { readRunConfig } from '../run/config.js';
import { runPath } from '../run/files.js';
import { createRunDir } from '../run/folder.js';
import { takeRunLock } from '../run/take-lock.js';
import { runTraining } from '../train/run.js';
import { cli, log, main, warn } from './common.js';
import { EXIT_INTERRUPTED, interruptOnSignals } from '../util/signals.js';

main('train', async () => {
  const args = await cli(process.argv, 'train')
    .usage('$0 [--config] <name|file.yaml> [--set key.path=value ...]\n$0 --resume <run folder>')
    // `gaplab train nin-gap` as well as `--config nin-gap`.
    .command('$0 [config]', false, (y) => y.positional('config', { type: 'string', describe: 'config name (under configs/) or YAML file' }))
    .option('config', { alias: 'c', type: 'string', describe: 'config name (under configs/) or YAML file' })
    .option('set', { type: 'string', array: true, describe: 'override a config key, e.g. train.epochs=5 (default: none)' })
    .option('resume', { type: 'string', describe: 'continue an interrupted run folder from its last checkpoint (default: none, a new run)' })
    .option('backend', { type: 'string', choices: BACKEND_NAMES, describe: "shortcut for --set backend=... (default: the config's)" })
    .option('seed', { type: 'number', describe: "shortcut for --set seed=... (default: the config's)" })
    .option('progress', { type: 'boolean', describe: 'live progress bar (default: when stderr is a terminal)' })
    .option('print-config', { type: 'boolean', default: false, describe: 'print the resolved config (defaults filled, overrides applied) as YAML and exit' })
    .conflicts('resume', ['config', 'set', 'seed', 'backend'])
    .check((a) => {
      if (a.resume !== undefined && a.resume.trim() === '') throw new Error('--resume: give the run folder to continue');
      if (a.config !== undefined && a.config.trim() === '') throw new Error('--config: give a config name or file');
      if (a.config === undefined && a.resume === undefined) throw new Error('give --config <name|file> (or --resume <run folder>)');
      return true;
    })
    .example('$0 --config nin-gap.yaml', "the paper's NIN + GAP on CIFAR-10")
    .example('$0 --config quick-nin-gap --set train.epochs=3', 'a quick run on the built-in data')
    .example('$0 --resume experiments/nin-gap/20261128-101500-s1-ab12', 'continue after a crash or Ctrl-C')
    .example('$0 --config nin-gap --set train.epochs=5 --print-config', 'the config a run would use, every default filled in')
    .parseAsync();
  let runDir = '';
  const resumeHint = () => (runDir ? `; the last complete checkpoint resumes with: npm run train -- --resume ${runDir}` : '');
  const { signal } = interruptOnSignals({
    first: (sig) => `\n${sig}: finishing the current batch and writing a checkpoint (press Ctrl-C again to exit at once)`,
    second: (sig) => `${sig} again: exited at once, without finishing the batch or writing a checkpoint${resumeHint()}`,
    warn,
  });

  let config: Config;
  let configFile: string | undefined;
  const resume = args.resume !== undefined;
  if (resume) {
    runDir = path.resolve(args.resume as string);
    config = readRunConfig(runDir);
  } else {
    const sets = (args.set ?? []).map(String);
    if (args.backend) sets.push(`backend=${args.backend}`);
    if (args.seed !== undefined) sets.push(`seed=${args.seed}`);
    ({ config, file: configFile } = loadConfig(args.config as string, sets));
  }
  if (args.printConfig) {
    process.stdout.write(configToYaml(config));
    return 0;
  }
  if (!resume) runDir = createRunDir(config.outputDir, config.experiment ?? 'default', config.seed);
  const lock = takeRunLock(runDir, (why) => {
    warn(`train: ${runDir}: another process took over this run folder's lock (${why}); stopping without writing more`);
    process.exit(1);
  });
  try {
    const summary = await runTraining(config, {
      log, warn, signal, runDir, resume,
      ...(configFile ? { configFile } : {}), ...(args.progress !== undefined ? { live: args.progress } : {}),
    });
    log(`summary: ${runPath(summary.runDir, 'summary')}`);
    return summary.status === 'interrupted' ? EXIT_INTERRUPTED : 0;
  } finally {
    lock.release();
  }
});
