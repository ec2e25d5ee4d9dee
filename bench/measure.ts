import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { parseArgs } from 'node:util';

/**
 * The options every load benchmark takes (`--seconds 5 --rounds 3 --connections 10`), plus the
 * benchmark's own whole-number options with their defaults, as numbers.
 */
export function loadOptions<E extends Record<string, number>>(extra = {} as E) {
  const defaults = { seconds: 5, rounds: 3, connections: 10, ...extra };
  const { values } = parseArgs({
    options: Object.fromEntries(
      Object.entries(defaults).map(([name, value]) => [
        name,
        { type: 'string' as const, default: String(value) },
      ]),
    ),
  });
  return Object.fromEntries(
    Object.keys(defaults).map((name) => [name, Number(values[name])]),
  ) as typeof defaults;
}

export { median } from '../src/util/stats.js';

/**
 * Runs the real CLI of a checkout (`bin/realstack.js ARGS`) as a user does and times it. A failure
 * is an error carrying its stderr (a figure of a failed command is no figure), unless the command
 * is measured failing on purpose (`anyExit`: `ps` with no stack running).
 */
export function timedCli(
  checkout: string,
  args: string[],
  env: Record<string, string | undefined>,
  options: { cwd?: string; anyExit?: boolean } = {},
): number {
  const start = performance.now();
  const res = spawnSync(process.execPath, [path.join(checkout, 'bin', 'realstack.js'), ...args], {
    cwd: options.cwd ?? checkout,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const ms = performance.now() - start;
  if (res.status !== 0 && !options.anyExit)
    throw new Error(`realstack ${args.join(' ')} failed:\n${res.stderr}`);
  return ms;
}
