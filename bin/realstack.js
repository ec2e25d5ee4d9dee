#!/usr/bin/env node
// The CLI is compiled TypeScript; `npm ci` builds it (the "prepare" script).
import { existsSync } from 'node:fs';

const entry = new URL('../dist/src/cli/main.js', import.meta.url);
if (!existsSync(entry)) {
  process.stderr.write('realstack: dist/ is missing; run `npm run build` (npm ci does it too).\n');
  process.exit(1);
}
await import(entry.href);
