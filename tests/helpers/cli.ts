import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { execa, type ResultPromise } from 'execa';

export const root = fileURLToPath(new URL('../..', import.meta.url));

/** A run id of a test's own, so its stack never meets the suite's or another test's. */
export const testRunId = (label: string): string => `t${label}${randomBytes(3).toString('hex')}`;

/** The real CLI in a child process, as a user runs it. */
export function realstack(
  args: string[],
  env: Record<string, string | undefined> = {},
): ResultPromise<{ all: true; reject: false }> {
  return execa(process.execPath, ['bin/realstack.js', ...args], {
    cwd: root,
    env: { ...process.env, ...env },
    reject: false,
    all: true,
  });
}

/** A user-facing error is one or a few lines of explanation, never a JavaScript stack trace. */
export const hasStackTrace = (text: string): boolean => /^\s+at .+:\d+:\d+\)?$/m.test(text);
