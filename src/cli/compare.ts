// npm run compare -- [--suite file.yaml] [--seeds n] [--jobs n] [--shard i/n] [--collect]: parses arguments, calls compare().
import { compare } from '../compare/compare.js';
import { parseShard } from '../compare/shard.js';
import { runWorker } from '../compare/worker.js';
import { BACKEND_NAMES } from '../config/schema.js';
import { UserError } from '../errors.js';
import { cli, log, main, warn } from './common.js';
import { EXIT_INTERRUPTED, interruptOnSignals } from '../util/signals.js';

main('compare', async () => {
  // Internal: one run in a child process, its request on stdin (see src/compare/execute.ts).
  if (process.argv.includes('--worker')) return runWorker(log, warn);
  const args = await cli(process.argv, 'compare')
    .usage('$0 [--suite configs/suites/quick.yaml] [--seeds n] [--jobs n] [--shard i/n] [--collect]')
    .option('suite', { alias: 's', type: 'string', default: 'configs/suites/quick.yaml', describe: 'suite YAML file' })
    .option('seeds', { type: 'number', describe: "use seeds 1..n (default: the suite's seeds)" })
    .option('jobs', { alias: 'j', type: 'number', default: 1, describe: 'runs trained at once (child processes)' })
    .option('shard', { type: 'string', describe: 'train only share i of n (0-based: 0/4 .. 3/4), e.g. a job array index (default: all runs)' })
    .option('collect', { type: 'boolean', default: false, describe: 'only aggregate what the run folders hold' })
    .option('dry-run', { type: 'boolean', default: false, describe: 'print what each run would do (done, resumable, new, starts over) and the time left; train nothing' })
    .option('set', { type: 'string', array: true, default: [] as string[], describe: 'override a config key in every variant' })
    .option('backend', { type: 'string', choices: BACKEND_NAMES, describe: "shortcut for --set backend=... (default: the configs')" })
    .option('output-dir', { type: 'string', describe: "root of the suite folder (default: the suite's outputDir)" })
    .option('report', { type: 'boolean', default: true, describe: 'write plots and report.html (--no-report: CSV files only)' })
    .option('cam', { type: 'boolean', default: true, describe: 'CAM grids and localization in report.html (--no-cam: without)' })
    .example('$0', 'the default quick suite on the built-in data')
    .example('$0 --suite configs/suites/nin-heads-cifar10.yaml --seeds 3 --jobs 2', 'the paper\'s NIN heads, 3 seeds, 2 at once')
    .example('$0 --suite ... --shard $SLURM_ARRAY_TASK_ID/8', 'this machine\'s share of the runs')
    .parseAsync();
  const shard = args.shard !== undefined ? parseShard(args.shard) : undefined;
  if (args.shard !== undefined && !shard) throw new UserError(`--shard ${args.shard}: expected i/n with 0 <= i < n (0-based), e.g. 0/4`);
  if (!Number.isInteger(args.jobs) || args.jobs < 1 || args.jobs > 64) throw new UserError(`--jobs ${args.jobs}: expected an integer from 1 to 64`);
  if (args.seeds !== undefined && (!Number.isInteger(args.seeds) || args.seeds < 1 || args.seeds > 1000)) {
    throw new UserError(`--seeds ${args.seeds}: expected an integer from 1 to 1000`);
  }
  const sets = args.set.map(String);
  if (args.backend) sets.push(`backend=${args.backend}`);
  // First Ctrl-C / SIGTERM: running runs checkpoint and stop, outputs are written; a second one exits at once.
  const abort = interruptOnSignals({
    first: (sig) => `${sig}: stopping the running runs at their next batch (they resume on the next compare); again to quit now`,
    second: (sig) => `${sig} again: exited at once; runs still stopping keep their last checkpoint and resume on the next compare`,
    warn,
  });
  const result = await compare({
    signal: abort.signal,
    suite: args.suite, jobs: args.jobs, collect: args.collect, dryRun: args.dryRun, sets, noReport: !args.report, noCam: !args.cam, log, warn,
    ...(args.seeds !== undefined ? { seeds: args.seeds } : {}),
    ...(shard ? { shard } : {}),
    ...(args.outputDir !== undefined ? { outputDir: args.outputDir } : {}),
  });
  // Stopped runs are `interrupted`, which compare() counts as failed: a stop on request is 130, as for train.
  return abort.signal.aborted ? EXIT_INTERRUPTED : result.exitCode;
});
