#!/usr/bin/env node
// Before `npm pack`: removes what tsc left in dist/ of sources that are gone (tsc only ever
// adds), so that a renamed or deleted module never ships. Only files without a source go; the
// build itself is `tsc`, which `prepare` runs next.
import { existsSync, readdirSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const dist = path.join(root, 'dist');
const removed = [];
const walk = (dir) => {
  for (const entry of readdirSync(dir)) {
    const file = path.join(dir, entry);
    if (statSync(file).isDirectory()) walk(file);
    else {
      const source = path
        .join(root, path.relative(dist, file))
        .replace(/\.(js|d\.ts|js\.map|d\.ts\.map)$/, '.ts');
      if (!existsSync(source)) {
        rmSync(file);
        removed.push(path.relative(root, file));
      }
    }
  }
};
if (existsSync(dist)) walk(dist);
process.stdout.write(removed.length ? `pruned from dist/: ${removed.join(', ')}\n` : '');
