/**
 * The process engine's supervisor: one per service process, started detached so the stack
 * outlives the `realstack up` that started it. It runs the command with its output in a log
 * file (and, beside it, when each chunk of it came: `OFFSET EPOCH_MS` lines, what docker's
 * log timestamps are on the other engine), forwards stop signals, and records how the process
 * ended (exit code or signal) in a file, which a plain detached child could not tell anyone.
 * Where the service has a restart policy, it starts the command again as Docker would.
 *
 * Usage: node runner.js SPEC.json, or SPEC.json's path on standard input
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, openSync, readFileSync, renameSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { constants } from 'node:os';
import type { RestartPolicy } from '../stack/spec.js';
import { FORWARDED_SIGNALS, groupMembers } from './process-group.js';

export interface RunnerSpec {
  command: string[];
  cwd: string;
  env: Record<string, string>;
  logFile: string;
  /** Where each chunk of the log starts and when it was written. */
  timesFile: string;
  /** Written once the process is running (PidRecord). */
  pidFile: string;
  /** Written when the process ends (ExitRecord); removed when a restart's process runs. */
  exitFile: string;
  /** Written by the engine before it kills the process itself: no restart follows. */
  stoppedFile: string;
  restart?: RestartPolicy;
  uid?: number;
  gid?: number;
}

export interface PidRecord {
  pid: number;
  /** When this process started (ISO 8601): a restart of the runner's own changes it. */
  at: string;
  /** How many times the restart policy had started it again before this run. */
  restarts: number;
}

export interface ExitRecord {
  code: number;
  signal: NodeJS.Signals | null;
  at: string;
  /** How many times the restart policy had started it again before this run. */
  restarts: number;
  /** The restart policy starts it again after its backoff. */
  restarting?: boolean;
}

function writeAtomic(file: string, value: unknown): void {
  writeFileSync(`${file}.tmp`, JSON.stringify(value));
  renameSync(`${file}.tmp`, file);
}

/** Docker's restart backoff (moby's restartmanager): 100 ms, doubled per restart up to a minute. */
const FIRST_DELAY_MS = 100;
const MAX_DELAY_MS = 60_000;
/** A run this long counts as a good start: the backoff begins again. */
const RESET_AFTER_MS = 10_000;

/** Whether Docker would start the process again after this exit, by the policy and the restarts so far. */
function restartsAfter(policy: RestartPolicy | undefined, exitCode: number, restarts: number): boolean {
  if (!policy) return false;
  if (policy.name !== 'on-failure') return true;
  return exitCode !== 0 && (!policy.maxRetries || restarts < policy.maxRetries);
}

function main(specFile: string): void {
  const spec = JSON.parse(readFileSync(specFile, 'utf8')) as RunnerSpec;
  const log = openSync(spec.logFile, 'a');
  const times = openSync(spec.timesFile, 'a');
  let offset = 0;
  const write = (chunk: Buffer) => {
    writeSync(times, `${offset} ${Date.now()}\n`);
    writeSync(log, chunk);
    offset += chunk.length;
  };
  const [cmd, ...args] = spec.command as [string, ...string[]];
  let stopping = false;
  let child: ChildProcess | undefined;
  let restarts = 0;
  let delayMs = 0;
  let backoff: NodeJS.Timeout | undefined;
  let lastExit: ExitRecord | undefined;
  const group = (sig: NodeJS.Signals) => {
    try {
      if (child?.pid !== undefined) process.kill(-child.pid, sig);
    } catch {}
  };
  for (const sig of FORWARDED_SIGNALS)
    process.on(sig, () => {
      stopping = true;
      // Between a crash and its restart there is nothing to stop: the crash is how it ended.
      if (backoff && lastExit) {
        clearTimeout(backoff);
        writeAtomic(spec.exitFile, { ...lastExit, restarting: false });
        process.exit(0);
      }
      group(sig);
    });

  const start = () => {
    // A process group of its own: `sh -c "node migrate.js && node server.js"` stops as a whole,
    // and nothing it started outlives it.
    const running = spawn(cmd, args, {
      cwd: spec.cwd,
      env: spec.env,
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
      ...(spec.uid !== undefined ? { uid: spec.uid, gid: spec.gid } : {}),
    });
    child = running;
    const startedAt = Date.now();
    running.stdout?.on('data', write);
    running.stderr?.on('data', write);
    running.on('error', (err) => {
      writeFileSync(log, `realstack runner: cannot start ${cmd}: ${err.message}\n`);
      writeAtomic(spec.exitFile, { code: 127, signal: null, at: new Date().toISOString(), restarts });
      process.exit(127);
    });
    if (running.pid !== undefined) {
      const record: PidRecord = { pid: running.pid, at: new Date(startedAt).toISOString(), restarts };
      writeAtomic(spec.pidFile, record);
    }
    // A restart's process is running: the last exit is no longer the news.
    if (restarts > 0) rmSync(spec.exitFile, { force: true });
    let closed = false;
    running.on('close', () => {
      closed = true;
    });
    running.on('exit', (code, signal) => {
      // A process killed by a signal reports 128 + its number, as a shell and docker do.
      const exitCode = code ?? 128 + (signal ? constants.signals[signal] : 0);
      let recorded = false;
      const record = () => {
        if (recorded) return;
        recorded = true;
        group('SIGKILL');
        lastExit = { code: exitCode, signal, at: new Date().toISOString(), restarts };
        // realstack's own stop of it (chaos's kill) is no crash, as Docker's kill is none.
        const again =
          !stopping && !existsSync(spec.stoppedFile) && restartsAfter(spec.restart, exitCode, restarts);
        writeAtomic(spec.exitFile, { ...lastExit, restarting: again });
        if (!again) process.exit(0);
        delayMs =
          Date.now() - startedAt >= RESET_AFTER_MS || delayMs === 0
            ? FIRST_DELAY_MS
            : Math.min(delayMs * 2, MAX_DELAY_MS);
        backoff = setTimeout(() => {
          backoff = undefined;
          restarts++;
          start();
        }, delayMs);
      };
      // The last of its output reaches the log first, unless a child of its own holds the pipe open.
      const afterOutput = () => {
        if (closed) return record();
        running.on('close', record);
        setTimeout(record, 1000).unref();
      };
      if (!stopping || running.pid === undefined) return afterOutput();
      // Asked to stop, the whole group got the signal. What the command started may outlive it
      // while it shuts down and writes its coverage (`npx tsx server.ts`: npm exits at once, the
      // server a moment later): it gets that moment. The engine kills the group at the end of the
      // grace period, as docker would.
      const leader = running.pid;
      const drained = () => {
        if (groupMembers(leader).length === 0) afterOutput();
        else setTimeout(drained, 20);
      };
      drained();
    });
  };
  start();
}

// A runner started ahead of its service (runner-pool.ts) reads which spec on its input; one
// that reads nothing was not needed.
const specFile = process.argv[2] ?? readFileSync(0, 'utf8');
if (specFile) main(specFile);
