import type { Result } from 'execa';
import { UserError } from '../errors.js';
import type { Log } from '../log.js';

/**
 * Runs one named build step with its output kept, printing a line when it starts and ends;
 * a failure names the step (or says `failure`) and shows the output's last lines.
 */
export async function step<T>(
  log: Log,
  name: string,
  work: () => Promise<T>,
  failure = `image build failed at step "${name}"`,
  /** What to do, when the output says why (a registry out of reach). */
  hint?: (output: string) => string | undefined,
): Promise<T> {
  const started = Date.now();
  log(`  ${name} ...`);
  try {
    const value = await work();
    log(`  ${name}: done in ${((Date.now() - started) / 1000).toFixed(1)}s`);
    return value;
  } catch (err) {
    const out = (err as { all?: string }).all;
    const tail = out ? `\n${out.split('\n').slice(-30).join('\n')}` : '';
    const advice = out && hint?.(out);
    throw new UserError(
      `${failure}: ${(err as Error).message.split('\n')[0]}${tail}${advice ? `\n\n${advice}` : ''}`,
    );
  }
}

/**
 * A command whose combined output is kept for the error message. execa loads on the first
 * command (0.13 s): a run whose build is up to date never pays it.
 */
export async function run(
  cmd: string,
  args: string[],
  options: { cwd?: string; env?: NodeJS.ProcessEnv; input?: string } = {},
): Promise<Result> {
  const { execa } = await import('execa');
  return execa(cmd, args, { all: true, ...options });
}
