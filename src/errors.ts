// User-facing errors: a message naming what is wrong and where, shown without a stack trace, exit code 2.

/** An error caused by the user's input (config, arguments, data files), not by a bug. */
export class UserError extends Error {
  /** Process exit code the CLI uses for this error. */
  readonly exitCode: number;
  constructor(message: string, exitCode = 2) {
    super(message);
    this.name = 'UserError';
    this.exitCode = exitCode;
  }
}

export function isUserError(e: unknown): e is UserError {
  return e instanceof UserError;
}
