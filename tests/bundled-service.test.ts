// A service shipped as one bundle (esbuild here; webpack and ncc make the same kind of file): its
// source map names the project's sources and its packages' files side by side. The report keeps
// the project's, with their own lines, and drops the packages' once mapped back. The bundle is
// built, then its package removed, as when an image's build made it: that is no missing source.
// The report is made from the bundle's own functions alone, and says what the whole would.
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { build } from 'esbuild';
import t from 'tap';
import { mergeRemapped, remapDump } from '../src/coverage/remap.js';
import { coverageMapOf } from '../src/coverage/report.js';
import { testRunId } from './helpers/cli.js';
import { passEngines } from './helpers/engines.js';
import { leftovers } from './helpers/leftovers.js';
import { linkedProject } from './helpers/project.js';

const files = {
  Dockerfile: `FROM node:20-bookworm-slim
WORKDIR /app
COPY dist dist
CMD ["node", "dist/server.js"]
`,
  '.dockerignore': 'node_modules\n.realstack\ncoverage\n',
  'docker-compose.yml': `services:
  web:
    build: .
    command: ["node", "--enable-source-maps", "dist/server.js"]
    ports: ["8080"]
    environment:
      PORT: 8080
`,
  'package.json': '{ "type": "module" }\n',
  'src/server.js': `import http from 'node:http';
import { greet } from 'greeting';
import { route } from './route.js';

http
  .createServer((req, res) => res.end(route(req.url, greet)))
  .listen(Number(process.env.PORT), process.env.HOST);
process.on('SIGTERM', () => process.exit(0));
`,
  'src/route.js': `export function route(url, greet) {
  if (url === '/hello') return greet('bundle');
  return 'not found';
}
`,
  // A package with code the service never runs: counted, it would take the service below 100 %.
  'node_modules/greeting/package.json': '{ "name": "greeting", "main": "index.js" }\n',
  'node_modules/greeting/index.js': `exports.greet = (name) => \`hello \${name}\`;
exports.shout = function shout(name) {
  if (!name) throw new Error('no name');
  return \`HELLO \${name.toUpperCase()}\`;
};
`,
  'test/web.test.js': `import t from 'tap';
const url = process.env.REALSTACK_WEB_URL;
t.test('the bundle serves its routes', async (t) => {
  t.equal(await (await fetch(url + '/hello')).text(), 'hello bundle');
  t.equal(await (await fetch(url + '/nowhere')).text(), 'not found');
});
`,
};

for (const engine of await passEngines()) {
  t.test(`${engine}: a bundled service's coverage is of its own sources, not its packages'`, async (t) => {
    const runId = testRunId('bun');
    const { dir, realstack } = linkedProject(t, files, runId);
    const cli = (args: string[]) => realstack(args, { REALSTACK_ENGINE: engine });
    t.teardown(() => cli(['down']));
    await build({
      entryPoints: [path.join(dir, 'src/server.js')],
      bundle: true,
      platform: 'node',
      format: 'esm',
      outfile: path.join(dir, 'dist/server.js'),
      sourcemap: true,
      logLevel: 'silent',
    });
    const map = JSON.parse(readFileSync(path.join(dir, 'dist/server.js.map'), 'utf8')) as {
      sources: string[];
    };
    t.same(
      map.sources.sort(),
      ['../node_modules/greeting/index.js', '../src/route.js', '../src/server.js'],
      'one script, three sources',
    );
    rmSync(path.join(dir, 'node_modules/greeting'), { recursive: true });

    const res = await cli(['test-coverage']);
    t.equal(res.exitCode, 0, res.all);
    t.match(res.stdout, /^1 passed, 0 failed/m);
    t.notMatch(res.all, /coverage gap|not in the repository/, 'the package is no missing source');
    t.match(res.all, /^line coverage: web 100%/m, "the package's unrun lines are not the service's");
    const summary = JSON.parse(readFileSync(path.join(dir, 'coverage/web/coverage-summary.json'), 'utf8'));
    t.same(
      Object.keys(summary)
        .filter((k) => k !== 'total')
        .map((k) => path.relative(dir, k))
        .sort(),
      ['src/route.js', 'src/server.js'],
      'the report names the sources, not the bundle or its package',
    );
    t.equal(summary[path.join(dir, 'src/route.js')].lines.total, 4, "route.js's own lines");
    t.ok(existsSync(path.join(dir, 'coverage/web/index.html')));
    t.same(await leftovers(runId, [], dir), []);

    // The report was made from the bundle trimmed to the project's functions (bundles.ts). The
    // same dumps, remapped and merged but not trimmed, give c8 the very same report.
    const raw = path.join(dir, 'coverage/raw/web-1');
    const dumps = readdirSync(raw).filter((f) => f.startsWith('coverage-'));
    t.ok(dumps.length > 0, 'the instance wrote dumps');
    const mapping = { container: engine === 'docker' ? '/app' : dir, host: dir };
    const merged = mergeRemapped(
      dumps.map((f) => remapDump(readFileSync(path.join(raw, f)), mapping, existsSync).cov),
    );
    const whole = mkdtempSync(path.join(os.tmpdir(), 'realstack-untrimmed-'));
    t.teardown(() => rmSync(whole, { recursive: true, force: true }));
    writeFileSync(path.join(whole, 'merged.json'), JSON.stringify(merged));
    const trimmedDump = path.join(dir, 'coverage/.remapped/web');
    const functions = (dir: string) =>
      (
        JSON.parse(readFileSync(path.join(dir, 'merged.json'), 'utf8')) as {
          result: { functions: unknown[] }[];
        }
      ).result.flatMap((s) => s.functions).length;
    t.ok(functions(trimmedDump) < functions(whole), "the package's functions were left out");
    t.same(
      (await coverageMapOf(trimmedDump, dir)).toJSON(),
      (await coverageMapOf(whole, dir)).toJSON(),
      'the same lines, branches and functions as the whole bundle gives',
    );
  });
}
