// npx tsx scripts/bench-startup.ts --config nin-gap.yaml --set data.dir=/tmp/cifar-big [--steps 5]: start-up, step
// times and peak RSS of a training run (stopped after a few steps).
import { cli, log, main } from '../src/cli/common.js';
import { measureStartup } from '../src/bench/startup.js';
import { loadConfig } from '../src/config/load.js';

main('bench-startup', async () => {
  const args = await cli(process.argv, 'bench-startup')
    .option('config', { type: 'string', default: 'nin-gap.yaml', describe: 'config name (under configs/) or YAML file' })
    .option('set', { type: 'string', array: true, describe: 'override a config key, e.g. data.dir=/tmp/cifar-big' })
    .option('steps', { type: 'number', default: 5, describe: 'training steps before stopping' })
    .parseAsync();
  const { config } = loadConfig(args.config, (args.set ?? []).map(String));
  const f = await measureStartup(config, Math.max(1, args.steps), log);
  const steps = f.stepSeconds.map((s) => s.toFixed(2)).join(', ');
  log(`startup: ${f.toFirstStep.toFixed(1)} s from process start to the first step, ${f.toFirstStepEnd.toFixed(1)} s to its end`);
  log(`startup: later steps ${steps} s; ${f.batchesPerEpoch} batches per epoch: ${(f.epochTrainSeconds / 60).toFixed(1)} min of ` +
    `training batches per epoch (evaluation passes not included)`);
  log(`startup: peak RSS ${f.peakRssMiB.toFixed(0)} MiB; before the first step: peak ${f.peakRssBeforeTrainingMiB.toFixed(0)} ` +
    `MiB, ${f.rssAtFirstStepMiB.toFixed(0)} MiB resident as it starts`);
});
