import { createRequire } from 'node:module';
import { cachedParse } from './parse-cache.js';

const require = createRequire(import.meta.url);

/**
 * The YAML parser, loaded on first use: it is 73 files, and loading them took 50 to 70 ms of
 * every command that read a compose file or a .taprc. With cachedYaml, only a text new to this
 * machine loads it.
 */
export const yaml = (): typeof import('yaml') => require('yaml');

/**
 * What `parse` makes of a YAML text, kept for the next command (parse-cache.ts); `what` names
 * the parse (its options), the parser's version is added.
 */
export function cachedYaml<T>(what: string, text: string, parse: () => T): T {
  const { version } = require('yaml/package.json') as { version: string };
  return cachedParse(`${what} (yaml ${version})`, text, parse);
}
