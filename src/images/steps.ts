import { execa, type ResultPromise } from 'execa';
import { UserError } from '../errors.js';
import type { Log } from '../log.js';

/**
 * Runs one named build step with its output kept, printing a line when it starts and ends;
 * a failure names the step and shows the output's last lines.
 */
export async function step<T>(log: Log, name: string, work: () => Promise<T>): Promise<T> {
  const started = Date.now();
  log(`  ${name} ...`);
  try {
    const value = await work();
    log(`  ${name}: done in ${((Date.now() - started) / 1000).toFixed(1)}s`);
    return value;
  } catch (err) {
    const out = (err as { all?: string }).all;
    const tail = out ? `\n${out.split('\n').slice(-30).join('\n')}` : '';
    throw new UserError(
      `image build failed at step "${name}": ${(err as Error).message.split('\n')[0]}${tail}`,
    );
  }
}

/** A command whose combined output is kept for the error message. */
export function run(
  cmd: string,
  args: string[],
  options: { cwd?: string; env?: NodeJS.ProcessEnv; input?: string } = {},
): ResultPromise {
  return execa(cmd, args, { all: true, ...options });
}
