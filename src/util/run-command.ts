import { spawn } from 'node:child_process';
import { constants } from 'node:os';

/** How a command ended, and what it wrote: stdout and stderr as one text, in the order written. */
export interface Ran {
  exitCode: number;
  all: string;
}

/**
 * Runs a command to its end and captures its output, never throwing: a command that cannot
 * start ends 127, as in a shell. For calls on `up`'s critical path: execa takes 0.1 s of CPU to
 * load, and docker's `up` waited on that before compose, whose own start is most of the wait,
 * could begin (docs/performance.md).
 */
export function runCommand(command: string, args: string[], env: NodeJS.ProcessEnv): Promise<Ran> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    const child = spawn(command, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.on('data', (chunk: Buffer) => chunks.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => chunks.push(chunk));
    const all = () => Buffer.concat(chunks).toString('utf8').replace(/\n$/, '');
    child.on('error', (error) => resolve({ exitCode: 127, all: `${all()}${error.message}` }));
    child.on('close', (code, signal) =>
      resolve({ exitCode: code ?? 128 + (signal ? constants.signals[signal] : 0), all: all() }),
    );
  });
}
