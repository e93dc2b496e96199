// The `gaplab` command's routing: subcommand -> entry point (with its own argv), top-level help and shell completion.
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';

/** Subcommands: the entry point each runs (relative to this file) and the line `gaplab --help` shows. */
export const SUBCOMMANDS = {
  train: { module: './train.js', describe: 'train one config (npm run train)' },
  compare: { module: './compare.js', describe: 'run a suite of heads x seeds and report the comparison (npm run compare)' },
  cam: { module: './cam.js', describe: 'class activation maps and localization of a trained run (npm run cam)' },
  bench: { module: './bench.js', describe: 'NIN training/inference throughput beside PyTorch (npm run bench)' },
  'gpu-check': { module: './gpu-check.js', describe: 'on a GPU machine: adapters, webgpu tests and throughput in one JSON (scripts/gpu-check.sh)' },
} as const;
export type Subcommand = keyof typeof SUBCOMMANDS;

const COMPLETIONS = '--get-yargs-completions';

/**
 * Where argv goes: a subcommand gets the process argv with its own name removed (each entry point parses
 * process.argv itself); shell completion of a subcommand's flags is handed to that entry point the same way.
 * Anything else (no subcommand, --help, `completion`, an unknown word) is for the top-level parser.
 */
export function route(argv: readonly string[]): { sub: Subcommand; argv: string[] } | undefined {
  const [node = 'node', script = 'gaplab', ...rest] = argv;
  const isSub = (w: string | undefined): w is Subcommand => w !== undefined && Object.hasOwn(SUBCOMMANDS, w);
  if (rest[0] === COMPLETIONS) {
    // `gaplab --get-yargs-completions gaplab train --co`: the words typed so far follow the flag.
    const words = rest.slice(2);
    if (isSub(words[0]) && words.length > 1) return { sub: words[0], argv: [node, script, COMPLETIONS, words[0], ...words.slice(1)] };
    return undefined;
  }
  if (isSub(rest[0])) return { sub: rest[0], argv: [node, script, ...rest.slice(1)] };
  return undefined;
}

/** Runs the subcommand (its module runs on import) or the top-level parser (help, completion script, errors). */
export async function gaplab(argv: string[] = process.argv): Promise<void> {
  const r = route(argv);
  if (r) {
    process.argv = r.argv;
    await import(SUBCOMMANDS[r.sub].module);
    return;
  }
  let y = yargs(hideBin(argv)).scriptName('gaplab').usage('$0 <command> [options]  (gaplab <command> --help for its options)');
  for (const [name, c] of Object.entries(SUBCOMMANDS)) y = y.command(name, c.describe);
  await y
    .completion('completion', 'print a bash/zsh completion script: gaplab completion >> ~/.bashrc')
    .demandCommand(1, 'give a command: train, compare, cam, bench or gpu-check')
    .strict()
    .help()
    .fail((msg, err) => {
      process.stderr.write(`gaplab: ${msg ?? err?.message}\n(see gaplab --help)\n`);
      process.exit(2);
    })
    .example('$0 train --config nin-gap', "the paper's NIN + GAP on CIFAR-10")
    .example('$0 compare --dry-run', 'what the default suite would train, and how long it would take')
    .parseAsync();
}
