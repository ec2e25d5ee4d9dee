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
