import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';

export const root = fileURLToPath(new URL('../..', import.meta.url));

/** The project's own `just` (rust-just), as the recipes' tests run it. */
export const just = path.join(root, 'node_modules', '.bin', 'just');

/** A run's closing line: "N passed, N failed[, N skipped]". */
export const closing = (stdout: string) => stdout.trim().split('\n').at(-1) ?? '';

/**
 * The test history of the runs a test starts in this repository (REALSTACK_HISTORY): their
 * fixtures fail and pass on purpose, and in the project's own history they would read as flaky
 * and be quarantined. One file per test process, removed with it.
 */
export const innerHistory = path.join(os.tmpdir(), `realstack-test-history-${process.pid}.sqlite`);
process.on('exit', () => {
  for (const f of [innerHistory, `${innerHistory}.lock`]) rmSync(f, { force: true });
});

/** A run id of a test's own, so its stack never meets the suite's or another test's. */
export const testRunId = (label: string): string => `t${label}${randomBytes(3).toString('hex')}`;

/**
 * A program as a user runs it. tap adds its own `--import` to NODE_OPTIONS of every process a
 * test spawns (its process tracking, with signal handlers of its own), and that would reach the
 * services the CLI starts; env(1) removes it, or sets a test's own NODE_OPTIONS, before the exec.
 */
export function run(
  command: string,
  args: string[],
  options: {
    cwd?: string;
    env?: Record<string, string | undefined>;
    extendEnv?: boolean;
    timeout?: number;
    nodeOptions?: string;
  } = {},
) {
  const { nodeOptions, ...rest } = options;
  const env = nodeOptions === undefined ? ['-u', 'NODE_OPTIONS'] : [`NODE_OPTIONS=${nodeOptions}`];
  return execa('env', [...env, command, ...args], { ...rest, reject: false, all: true });
}

/** The real CLI in a child process. */
export function realstack(args: string[], env: Record<string, string | undefined> = {}) {
  return run(process.execPath, ['bin/realstack.js', ...args], {
    cwd: root,
    env: { ...process.env, REALSTACK_HISTORY: innerHistory, ...env },
  });
}

/** A user-facing error is one or a few lines of explanation, never a JavaScript stack trace. */
export const hasStackTrace = (text: string): boolean => /^\s+at .+:\d+:\d+\)?$/m.test(text);
