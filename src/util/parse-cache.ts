import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { deserialize, serialize } from 'node:v8';

/** Entries kept: a project's compose files change a few times a day, a test suite's far more. */
const KEEP = 200;

/** The user's own cache folder (as for the copied PostgreSQL binaries): no other user can write it. */
const cacheDir = () =>
  path.join(process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache'), 'realstack', 'parsed');

/**
 * What a parser made of a text, kept by the text's hash for the next command, which reads it
 * back instead of loading the parser and parsing again: loading `yaml` and parsing the reference
 * stack's compose file cost every `up` 60 to 80 ms before anything started (docs/performance.md).
 * `parser` names the parser and its version, so that another one never reads what this one
 * made. A value is anything v8's serializer keeps (no functions); a parse that throws keeps
 * nothing, and a cache that cannot be read or written costs only a parse.
 */
export function cachedParse<T>(parser: string, text: string, parse: () => T): T {
  const dir = cacheDir();
  const file = path.join(dir, createHash('sha256').update(parser).update('\0').update(text).digest('hex'));
  try {
    return deserialize(readFileSync(file)) as T;
  } catch {
    // not made yet, or unreadable: parsed below
  }
  const value = parse();
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    // Whole or not at all: a reader beside us never sees half an entry.
    const tmp = `${file}.${process.pid}.tmp`;
    writeFileSync(tmp, serialize(value));
    renameSync(tmp, file);
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
