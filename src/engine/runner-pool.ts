import { type ChildProcess, spawn } from 'node:child_process';
import type { Socket } from 'node:net';
import { fileURLToPath } from 'node:url';

const runnerScript = fileURLToPath(new URL('./runner.js', import.meta.url));

/** A runner, detached, that this command does not wait for; its spec as an argument or on `input`. */
function spawnRunner(args: string[], input: 'pipe' | 'ignore'): ChildProcess {
  const runner = spawn(process.execPath, [runnerScript, ...args], {
    detached: true,
    stdio: [input, 'ignore', 'ignore'],
  });
  runner.unref();
  return runner;
}

/**
 * Starts the process engine's runners (runner.ts), detached: the stack outlives the command
 * that started it. A runner is a Node process, and Node's own start (0.1 to 0.15 s here) stood
 * between each `launch` and its service: once for PostgreSQL, once more for the services that
 * wait on it. `warm` starts runners ahead, each waiting on its standard input for the spec it
 * is to run, so that a launch hands one over and its service starts at once.
 */
export class RunnerPool {
  private readonly waiting: ChildProcess[] = [];
  private later = 0;

  /** Starts `now` runners that wait for their spec, and `later` more once launches have taken those. */
  warm(now: number, later = 0): void {
    this.later = later;
    this.start(now);
  }

  private start(count: number): void {
    for (let i = 0; i < count; i++) {
      const runner = spawnRunner([], 'pipe');
      // Nor does its input keep this command alive: should it end before `release`, a crash,
      // an unused runner reads the end of its input and exits.
      (runner.stdin as Socket).unref();
      this.waiting.push(runner);
    }
  }

  /** Runs the spec in `specFile` (runner.ts's RunnerSpec): in a warm runner if one waits. Returns its pid. */
  launch(specFile: string): number {
    const warm = this.waiting.shift();
    if (this.waiting.length === 0 && this.later > 0) {
      this.start(this.later);
      this.later = 0;
    }
    if (warm) {
      warm.stdin?.end(specFile);
      return warm.pid as number;
    }
    return spawnRunner([specFile], 'ignore').pid as number;
  }

  /** Ends the runners no launch took: they have run nothing yet. */
  release(): void {
    this.later = 0;
    for (const runner of this.waiting.splice(0)) runner.kill('SIGKILL');
  }
}
