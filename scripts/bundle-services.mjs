#!/usr/bin/env node
// The reference services as the stack runs them: each one bundle (its code, the kit and its
// packages) in dist/services/<service>/bundle/, with a source map to the TypeScript sources.
// A service started from tsc's output loads some 440 files (400 of them packages'), and Node
// spends half of a start finding, reading and compiling them: the auth service was healthy
// 0.54 s after its start, 0.34 s as a bundle (docs/performance.md). `npm run build` runs this
// after tsc; tsc's per-file output stays for the tests that import the services' modules.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = fileURLToPath(new URL('..', import.meta.url));

await Promise.all(
  ['auth', 'api'].map((service) =>
    build({
      entryPoints: { main: path.join(root, 'services', service, 'src', 'main.ts') },
      outdir: path.join(root, 'dist', 'services', service, 'bundle'),
      bundle: true,
      platform: 'node',
      target: 'node20',
      format: 'esm',
      // A module loaded on demand (the api's MCP server) stays a file of its own, loaded then.
      splitting: true,
      sourcemap: true,
      // The sources are on the machine that built the bundle, where coverage is reported: each
      // coverage dump carries the map, and with the sources in it a map is 3 MB instead of 1.
      sourcesContent: false,
      // Packages written for CommonJS call require(); an ES module has none of its own.
      banner: {
        js: "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);",
      },
      // pg's optional native driver, which the services do not use and nothing installs.
      external: ['pg-native'],
      logLevel: 'warning',
    }),
  ),
);
