import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import { deserialize, serialize } from 'node:v8';
import { userCacheDir, writeFileWhole } from './files.js';

/** Entries kept: a project's compose files change a few times a day, a test suite's far more. */
const KEEP = 200;

/**
 * What a parser made of a text, kept by the text's hash for the next command, which reads it
 * back instead of loading the parser and parsing again: loading `yaml` and parsing the reference
 * stack's compose file cost every `up` 60 to 80 ms before anything started (docs/performance.md).
 * `parser` names the parser and its version, so that another one never reads what this one
 * made. A value is anything v8's serializer keeps (no functions); a parse that throws keeps
 * nothing, and a cache that cannot be read or written costs only a parse.
 */
export function cachedParse<T>(parser: string, text: string, parse: () => T): T {
  // The user's own: no other user can plant an entry that becomes a command.
  const dir = userCacheDir('parsed');
  const file = path.join(dir, createHash('sha256').update(parser).update('\0').update(text).digest('hex'));
  try {
    return deserialize(readFileSync(file)) as T;
  } catch {
    // not made yet, or unreadable: parsed below
  }
  const value = parse();
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    writeFileWhole(file, serialize(value));
    prune(dir);
  } catch {
    // a read-only home: every command parses
  }
  return value;
}

/** Keeps the newest entries once there are too many; run only when one was written. */
function prune(dir: string): void {
  const entries = readdirSync(dir);
  if (entries.length <= KEEP) return;
  const aged = entries.flatMap((name) => {
    try {
      return [{ name, at: statSync(path.join(dir, name)).mtimeMs }];
    } catch {
      return [];
    }
  });
  aged.sort((a, b) => b.at - a.at);
  for (const { name } of aged.slice(KEEP / 2)) rmSync(path.join(dir, name), { force: true });
}
