// Shared CLI plumbing: yargs setup, and turning errors into one clear line and an exit code (no stack for user errors).
import yargs, { type Argv } from 'yargs';
import { hideBin } from 'yargs/helpers';
import { isUserError, UserError } from '../errors.js';
import { DivergedError } from '../train/loop.js';

/**
 * A yargs parser for `argv` whose bad arguments (unknown flags, bad choices, failed .check()s) reject the parse with a
 * UserError: main() prints one line and exits 2, instead of yargs's usage text and exit 1 or a stack trace.
 */
export function cli(argv: string[], scriptName: string): Argv {
  return yargs(hideBin(argv))
    .scriptName(scriptName)
    .strict()
    .help()
    .wrap(Math.min(110, process.stdout.columns ?? 110))
    .fail((msg, err) => {
      const oneLine = (err?.message ?? msg).replace(/\s*\n\s*/g, ' '); // yargs's "Invalid values:\n  Argument: ..."
      throw new UserError(`${oneLine} (see ${scriptName} --help)`);
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
