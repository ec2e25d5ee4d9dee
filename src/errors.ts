/**
 * An error whose message is the whole story for a user (what, why, what to do): the CLI
 * prints it without a stack trace. Anything else reaching the CLI is a bug, and shows one.
 */
export class UserError extends Error {
  override name = 'UserError';

  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
  }
}

/** A compose file that compose itself would refuse, or that says something it cannot mean. */
export class ComposeFileError extends UserError {
  override name = 'ComposeFileError';
}

/** `fn`'s result; a UserError it throws says first what it was about (`service "api": ...`). */
export function about<T>(subject: string, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (err instanceof UserError) throw new UserError(`${subject}: ${err.message}`, err.exitCode);
    throw err;
  }
}
