#!/usr/bin/env node
// Adds package-lock.json entries for optional platform packages (other OSes' `just` and
// biome binaries) that the registry mirror this project is built against does not serve.
// npm install leaves them out, and `npm ci` then refuses the lock as out of sync. The
// entries carry no tarball: npm ci skips them as optional on every platform that cannot
// fetch them, and installs its own. Run after every `npm install`: `npm run repair-lock`.
import { readFileSync, writeFileSync } from 'node:fs';

const file = new URL('../package-lock.json', import.meta.url);
const lock = JSON.parse(readFileSync(file, 'utf8'));
const added = [];
for (const entry of Object.values(lock.packages)) {
  for (const [name, version] of Object.entries(entry.optionalDependencies ?? {})) {
    const key = `node_modules/${name}`;
    if (lock.packages[key]) continue;
    lock.packages[key] = { version, optional: true, ...(entry.dev ? { dev: true } : {}) };
    added.push(`${name}@${version}`);
  }
}
lock.packages = Object.fromEntries(
  Object.entries(lock.packages).sort(([a], [b]) => (a === '' ? -1 : b === '' ? 1 : a.localeCompare(b))),
);
writeFileSync(file, `${JSON.stringify(lock, null, 2)}\n`);
process.stdout.write(
  added.length
    ? `added ${added.length} optional entries: ${added.join(', ')}\n`
    : 'package-lock.json needs no repair\n',
);
