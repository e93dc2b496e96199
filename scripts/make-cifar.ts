// npx tsx scripts/make-cifar.ts --out <dir> [--train 50000] [--test 10000] [--seed 0]: writes a random CIFAR-10 file set.
import { cli, log, main } from '../src/cli/common.js';
import { writeCifar10 } from '../src/data/cifar-writer.js';

main('make-cifar', async () => {
  const args = await cli(process.argv, 'make-cifar')
    .usage('$0 --out <dir> [--train N] [--test N] [--seed S]')
    .option('out', { type: 'string', demandOption: true, describe: 'folder to write (use it as data.dir)' })
    .option('train', { type: 'number', default: 50_000, describe: 'training images (data_batch_<k>.bin, 10,000 per file)' })
    .option('test', { type: 'number', default: 10_000, describe: 'test images (test_batch.bin)' })
    .option('seed', { type: 'number', default: 0, describe: 'seeds pixels and labels' })
    .example('$0 --out /tmp/cifar-big', "CIFAR-10's full size, random pixels: npm run train -- --set data.dir=/tmp/cifar-big")
    .parseAsync();
  const files = writeCifar10(args.out, { train: args.train, test: args.test, seed: args.seed });
  log(`make-cifar: wrote ${args.train} training and ${args.test} test images in ${files.length} files to ${args.out}`);
});
