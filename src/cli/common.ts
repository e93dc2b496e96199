// Shared CLI plumbing: yargs setup, and turning errors into one clear line and an exit code (no stack for user errors).
import yargs, { type Argv } from 'yargs';
import { hideBin } from 'yargs/helpers';
import { isUserError } from '../errors.js';
import { DivergedError } from '../train/loop.js';

/** A yargs parser for `argv` that exits 2 with one line on bad arguments (instead of usage + exit 1). */
export function cli(argv: string[], scriptName: string): Argv {
  return yargs(hideBin(argv))
    .scriptName(scriptName)
    .strict()
    .help()
    .wrap(Math.min(110, process.stdout.columns ?? 110))
    .fail((msg, err) => {
      if (err) throw err;
      process.stderr.write(`${scriptName}: ${msg}\n(see ${scriptName} --help)\n`);
      process.exit(2);
    });
}

/** Exit code for an error: 2 user errors, 3 divergence, 1 bugs (with stack). */
export function reportError(e: unknown, scriptName: string): number {
  if (isUserError(e)) {
    process.stderr.write(`${scriptName}: error: ${e.message}\n`);
    return e.exitCode;
  }
  if (e instanceof DivergedError) {
    process.stderr.write(`${scriptName}: ${e.message}\n`);
    return 3;
  }
  process.stderr.write(`${scriptName}: internal error (please report it): ${(e as Error)?.stack ?? String(e)}\n`);
  return 1;
}

/** Runs a CLI's main function and exits with its code. */
export function main(scriptName: string, fn: () => Promise<number | void>): void {
  fn().then(
    (code) => process.exit(code ?? 0),
    (e: unknown) => process.exit(reportError(e, scriptName)),
  );
}

export const log = (line: string): void => {
  process.stdout.write(`${line}\n`);
};
export const warn = (line: string): void => {
  process.stderr.write(`${line}\n`);
};
