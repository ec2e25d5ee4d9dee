// The justfile's recipes run as a user types them (`just test-n 2 ...`), from the checkout, each
// a whole realstack run whose inner tap run records into a history of its own.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Test } from 'tap';
import { innerHistory, just, root, run } from './cli.js';

/**
 * A scratch folder removed in teardown, and `just` with its JUnit file written there; `base` is
 * every run's environment (a run's own adds to it).
 */
export function recipes(t: Test, base: Record<string, string> = {}) {
  const scratch = mkdtempSync(path.join(os.tmpdir(), 'realstack-workflow-'));
  t.teardown(() => rmSync(scratch, { recursive: true, force: true }));
  const junit = path.join(scratch, 'junit.xml');
  const justDo = (args: string[], env: Record<string, string> = {}) =>
    run(just, args, {
      cwd: root,
      env: { ...process.env, REALSTACK_JUNIT_FILE: junit, REALSTACK_HISTORY: innerHistory, ...base, ...env },
    });
  return { scratch, junit, justDo };
}

/** The test files an inner run ran, from its TAP stream. */
export const filesRun = (stdout: string) =>
  [...stdout.matchAll(/^# Subtest: (tests\/\S+)$/gm)].map((m) => m[1] as string).sort();
