// tap runs the suite's TypeScript test files with this (package.json, "node-arg") in place of
// its typescript plugin, which loads ts-node and TypeScript into every test process: 1.6 s of
// CPU before a test's first line, for some sixty files in each of CI's two passes
// (docs/performance.md). Nothing here type-checks: `tsc -p tsconfig.tests.json` does.
import { register } from 'node:module';

register('./hooks.mjs', import.meta.url);
