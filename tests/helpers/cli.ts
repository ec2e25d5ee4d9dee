import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Test } from 'tap';

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

/** How a program a test ran ended, and what it wrote (each without its last newline). */
export interface RunResult {
  /** Undefined when a signal ended it, or it never started. */
  exitCode?: number;
  signal?: NodeJS.Signals;
  stdout: string;
  stderr: string;
  /** Standard output and error interleaved, as they came. */
  all: string;
  timedOut: boolean;
}

/**
 * That a command exited 0; when it did not, the assertion's message carries its standard error,
 * so that a failure in CI says why (a stack that did not come up, under a busy machine).
 */
export function exitedZero(t: Test, res: RunResult, what: string): void {
  t.equal(res.exitCode, 0, res.exitCode === 0 ? what : `${what}: ${res.stderr}`);
}

/** A running program: awaited, its result; meanwhile its output streams, its pid and kill(). */
export type Running = Promise<RunResult> & Pick<ChildProcess, 'kill' | 'pid' | 'stdout' | 'stderr'>;

const text = (chunks: Buffer[]) =>
  Buffer.concat(chunks)
    .toString('utf8')
    .replace(/\r?\n$/, '');

/**
 * A program as a user runs it. tap adds its own `--import` to NODE_OPTIONS of every process a
 * test spawns (its process tracking, with signal handlers of its own) unless `realstack test`
 * started it with tap's coverage off, and under a plain `npx tap` that would reach the services
 * the CLI starts; env(1) removes it, or sets a test's own NODE_OPTIONS, before the exec.
 *
 * node:child_process, not execa: execa is some 150 modules, and every one a test file loads
 * passes through tap's module hooks (0.45 s of CPU in each of the suite's test processes,
 * docs/performance.md).
 */
export function run(
  command: string,
  args: string[],
  options: {
    cwd?: string;
    env?: Record<string, string | undefined>;
    /** false: the environment is `env` alone, not this process's with `env` over it. */
    extendEnv?: boolean;
    /** Milliseconds, after which the program gets SIGTERM and `timedOut` is true. */
    timeout?: number;
    nodeOptions?: string;
  } = {},
): Running {
  const { nodeOptions, cwd, env = {}, extendEnv = true, timeout } = options;
  const unset = nodeOptions === undefined ? ['-u', 'NODE_OPTIONS'] : [`NODE_OPTIONS=${nodeOptions}`];
  const child = spawn('env', [...unset, command, ...args], {
    cwd,
    env: extendEnv ? { ...process.env, ...env } : env,
  });
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  const all: Buffer[] = [];
  child.stdout.on('data', (d: Buffer) => out.push(d) && all.push(d));
  child.stderr.on('data', (d: Buffer) => err.push(d) && all.push(d));
  let timedOut = false;
  const timer =
    timeout === undefined
      ? undefined
      : setTimeout(() => {
          timedOut = true;
          child.kill('SIGTERM');
        }, timeout);
  const result = new Promise<RunResult>((resolve) => {
    const settle = (exitCode: number | null, signal: NodeJS.Signals | null, failure = '') => {
      clearTimeout(timer);
      if (failure) err.push(Buffer.from(failure)) && all.push(Buffer.from(failure));
      resolve({
        exitCode: exitCode ?? undefined,
        signal: signal ?? undefined,
        stdout: text(out),
        stderr: text(err),
        all: text(all),
        timedOut,
      });
    };
    // 'close', not 'exit': the output is whole only once both pipes have ended.
    child.on('close', (code, signal) => settle(code, signal));
    child.on('error', (error) => settle(null, null, `${error.message}\n`));
  });
  return Object.assign(result, {
    kill: child.kill.bind(child),
    pid: child.pid,
    stdout: child.stdout,
    stderr: child.stderr,
  });
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
