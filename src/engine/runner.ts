/**
 * The process engine's supervisor: one per service process, started detached so the stack
 * outlives the `realstack up` that started it. It runs the command with its output in a log
 * file (and, beside it, when each chunk of it came: `OFFSET EPOCH_MS` lines, what docker's
 * log timestamps are on the other engine), forwards stop signals, and records how the process
 * ended (exit code or signal) in a file, which a plain detached child could not tell anyone.
 *
 * Usage: node runner.js SPEC.json, or SPEC.json's path on standard input
 */
import { spawn } from 'node:child_process';
import { openSync, readFileSync, renameSync, writeFileSync, writeSync } from 'node:fs';
import { constants } from 'node:os';
import { FORWARDED_SIGNALS, groupMembers } from './process-group.js';

export interface RunnerSpec {
  command: string[];
  cwd: string;
  env: Record<string, string>;
  logFile: string;
  /** Where each chunk of the log starts and when it was written. */
  timesFile: string;
  /** Written once the process is running: { pid }. */
  pidFile: string;
  /** Written when the process ends: { code, signal, at }. */
  exitFile: string;
  uid?: number;
  gid?: number;
}

function writeAtomic(file: string, value: unknown): void {
  writeFileSync(`${file}.tmp`, JSON.stringify(value));
  renameSync(`${file}.tmp`, file);
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
  // A process group of its own: `sh -c "node migrate.js && node server.js"` stops as a whole,
  // and nothing it started outlives it.
  const child = spawn(cmd, args, {
    cwd: spec.cwd,
    env: spec.env,
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
    ...(spec.uid !== undefined ? { uid: spec.uid, gid: spec.gid } : {}),
  });
  const group = (sig: NodeJS.Signals) => {
    try {
      if (child.pid !== undefined) process.kill(-child.pid, sig);
    } catch {}
  };
  child.stdout?.on('data', write);
  child.stderr?.on('data', write);
  child.on('error', (err) => {
    writeFileSync(log, `realstack runner: cannot start ${cmd}: ${err.message}\n`);
    writeAtomic(spec.exitFile, { code: 127, signal: null, at: new Date().toISOString() });
    process.exit(127);
  });
  if (child.pid !== undefined) writeAtomic(spec.pidFile, { pid: child.pid });
  let closed = false;
  child.on('close', () => {
    closed = true;
  });
  let stopping = false;
  for (const sig of FORWARDED_SIGNALS)
    process.on(sig, () => {
      stopping = true;
      group(sig);
    });
  child.on('exit', (code, signal) => {
    // A process killed by a signal reports 128 + its number, as a shell and docker do.
    const exitCode = code ?? 128 + (signal ? constants.signals[signal] : 0);
    const record = () => {
      group('SIGKILL');
      writeAtomic(spec.exitFile, { code: exitCode, signal, at: new Date().toISOString() });
      process.exit(0);
    };
    // The last of its output reaches the log first, unless a child of its own holds the pipe open.
    const afterOutput = () => {
      if (closed) return record();
      child.on('close', record);
      setTimeout(record, 1000).unref();
    };
    if (!stopping || child.pid === undefined) return afterOutput();
    // Asked to stop, the whole group got the signal. What the command started may outlive it
    // while it shuts down and writes its coverage (`npx tsx server.ts`: npm exits at once, the
    // server a moment later): it gets that moment. The engine kills the group at the end of the
    // grace period, as docker would.
    const leader = child.pid;
    const drained = () => {
      if (groupMembers(leader).length === 0) afterOutput();
      else setTimeout(drained, 20);
    };
    drained();
  });
}

// A runner started ahead of its service (runner-pool.ts) reads which spec on its input; one
// that reads nothing was not needed.
const specFile = process.argv[2] ?? readFileSync(0, 'utf8');
if (specFile) main(specFile);
