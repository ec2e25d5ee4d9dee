import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { remapProcessCoverage } from '../src/coverage/remap.js';
import { selectScripts } from '../src/coverage/select.js';
import { hostPaths } from '../src/engine/process.js';
import { root, run } from './helpers/cli.js';

const repo = root.replace(/\/$/, '');
const map = { container: '/app', host: repo };
const fn = { functionName: '', isBlockCoverage: false, ranges: [{ startOffset: 0, endOffset: 1, count: 1 }] };

t.test(
  'remap keeps the project scripts under the root, with repository paths, and drops the rest',
  async (t) => {
    const { cov, outcome } = remapProcessCoverage(
      {
        result: [
          { url: 'node:internal/modules/cjs/loader', scriptId: '1', functions: [fn] },
          { url: 'file:///app/node_modules/fastify/fastify.js', scriptId: '2', functions: [fn] },
          { url: 'file:///coverage-spy/index.cjs', scriptId: '3', functions: [fn] },
          { url: 'file:///app/dist/services/kit/src/db.js', scriptId: '4', functions: [fn] },
          { url: 'file:///app/dist/services/kit/src/gone.js', scriptId: '5', functions: [fn] },
          // Built inside the image, so not on the host; its map and its source are.
          { url: 'file:///app/dist/built-in-image.js', scriptId: '6', functions: [fn] },
        ],
        'source-map-cache': {
          'file:///app/dist/services/kit/src/db.js': {
            lineLengths: [1],
            data: { version: 3, sources: ['../../../../services/kit/src/db.ts'], mappings: '' },
          },
          'file:///app/node_modules/x/index.js': {
            data: { version: 3, sources: ['index.ts'], mappings: '' },
          },
          'file:///app/dist/abs.js': {
            data: { version: 3, sourceRoot: '/app/services', sources: ['kit/src/db.ts'], mappings: '' },
          },
          'file:///app/dist/built-in-image.js': {
            data: { version: 3, sources: ['../services/kit/src/db.ts'], mappings: '' },
          },
        },
      },
      map,
    );
    t.same(
      cov.result.map((s) => s.url),
      [
        `file://${repo}/dist/services/kit/src/db.js`,
        `file://${repo}/dist/services/kit/src/gone.js`,
        `file://${repo}/dist/built-in-image.js`,
      ],
    );
    t.same(Object.keys(cov['source-map-cache'] ?? {}), [
      `file://${repo}/dist/services/kit/src/db.js`,
      `file://${repo}/dist/abs.js`,
      `file://${repo}/dist/built-in-image.js`,
    ]);
    t.equal(
      cov['source-map-cache']?.[`file://${repo}/dist/abs.js`]?.data?.sourceRoot,
      `${repo}/services`,
      'absolute sourceRoot remapped',
    );
    t.same(
      outcome.missing,
      [`${repo}/dist/services/kit/src/gone.js`],
      'files that are not in the repository; a script built in the image, its map and source at hand, is not one',
    );
    t.equal(outcome.kept, 3);
  },
);

t.test(
  'the process engine rewrites mounted container paths in environment values, whole segments only',
  async (t) => {
    const toHost = hostPaths([
      { container: '/coverage-spy', host: '/repo/coverage-spy' },
      { container: '/app', host: '/repo' },
    ]);
    t.equal(toHost('--require /coverage-spy/index.cjs'), '--require /repo/coverage-spy/index.cjs');
    t.equal(toHost('/app'), '/repo');
    t.equal(toHost('/application/x'), '/application/x');
    t.equal(toHost('/tmp/realstack-coverage'), '/tmp/realstack-coverage');
  },
);

t.test('the selective read of a real dump equals parsing it whole and filtering', async (t) => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'realstack-select-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  // A real process with a source-mapped script of the repository: the compiled service kit.
  const res = await run(
    process.execPath,
    ['--enable-source-maps', '-e', `import('${repo}/dist/services/kit/src/config.js')`],
    {
      env: { PATH: process.env.PATH ?? '', NODE_V8_COVERAGE: dir },
      extendEnv: false,
    },
  );
  t.equal(res.exitCode, 0, res.all);
  const file = path.join(dir, readdirSync(dir)[0] as string);
  const buf = readFileSync(file);
  const keep = (url: string) => url.startsWith(`file://${repo}/dist/`);
  const filter = { prefixes: [Buffer.from(`file://${repo}/`)], skip: [Buffer.from('node_modules/')] };
  const whole = JSON.parse(buf.toString('utf8'));
  const expected = {
    result: whole.result.filter((s: { url: string }) => keep(s.url)),
    'source-map-cache': Object.fromEntries(
      Object.entries(whole['source-map-cache']).filter(([k]) => keep(k)),
    ),
  };
  t.ok(
    expected.result.length > 0 && Object.keys(expected['source-map-cache']).length > 0,
    'the dump holds project scripts and maps',
  );
  t.same(selectScripts(buf, keep, filter), expected, 'with the byte filter');
  t.same(selectScripts(buf, keep), expected, 'without it');
  t.equal(
    selectScripts(Buffer.from(JSON.stringify(whole, null, 2)), keep, filter),
    undefined,
    'another shape: the caller parses it whole',
  );
});
