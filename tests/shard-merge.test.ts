// `realstack test-coverage --shard I/N` and `realstack merge` (src/testing/shard.ts, merge.ts):
// four shards of a small project, run one after another as CI's parallel jobs would run them,
// each shard's results copied out as a CI artifact is, then merged. The merged counts, JUnit
// and coverage must be those of the same suite run unsharded.
import { cpSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { closing, hasStackTrace, testRunId } from './helpers/cli.js';
import { processPassOnly } from './helpers/engines.js';
import { linkedProject, tinyCompose } from './helpers/project.js';

const skip = processPassOnly();

// Each route's code on lines of its own, so each test file covers lines no other does.
const server = `const http = require('node:http');
const routes = {
  '/a': () => 'a',
  '/b': () => {
    let sum = 0;
    for (let i = 0; i < 3; i++) sum += i;
    return String(sum);
  },
  '/c': () => 'c'.repeat(2),
  '/d': () => {
    const parts = ['d', 'e'];
    return parts.join('');
  },
};
http
  .createServer((req, res) => {
    const route = routes[req.url];
    if (!route) {
      res.writeHead(404);
      res.end();
      return;
    }
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.end(route());
  })
  .listen(Number(process.env.PORT), process.env.HOST);
process.on('SIGTERM', () => process.exit(0));
`;
const routeTest = (route: string, body: string) => `import t from 'tap';
t.test('GET ${route}', async (t) => {
  const res = await fetch(process.env.REALSTACK_WEB_URL + '${route}');
  t.equal(res.status, 200);
  t.equal(await res.text(), '${body}');
});
t.test('a second test of the file', async (t) => t.pass('counted'));
`;

const { dir, realstack } = linkedProject(
  t,
  {
    'docker-compose.yml': tinyCompose,
    'server.cjs': server,
    'package.json': '{"name": "shard-project", "private": true, "type": "module"}\n',
    '.taprc': 'include:\n  - "test/**/*.test.mjs"\ndisable-coverage: true\nallow-empty-coverage: true\n',
    'test/a.test.mjs': routeTest('/a', 'a'),
    'test/b.test.mjs': routeTest('/b', '3'),
    'test/c.test.mjs': routeTest('/c', 'cc'),
    'test/d.test.mjs': routeTest('/d', 'de'),
    'test/e.test.mjs': "import t from 'tap';\nt.test('touches no route', async (t) => t.pass('ok'));\n",
  },
  testRunId('shd'),
);
t.teardown(() => realstack(['down']));

const at = (...parts: string[]) => path.join(dir, ...parts);
/** JUnit without times, one suite per entry, in file order: what must match whatever the split. */
const junitSuites = () =>
  readFileSync(at('test-results', 'junit.xml'), 'utf8')
    .replace(/ time="[^"]*"/g, '')
    .split(/(?=<testsuite )/)
    .map((s) => s.replace('</testsuites>', '').trim())
    .sort();
/** Per service file, which statements ran: equal coverage, whichever process ran them. */
const coveredStatements = () => {
  const json = JSON.parse(readFileSync(at('coverage', 'all', 'coverage-final.json'), 'utf8')) as Record<
    string,
    { s: Record<string, number> }
  >;
  return Object.fromEntries(
    Object.entries(json).map(([file, c]) => [
      path.relative(dir, file),
      Object.keys(c.s).filter((id) => (c.s[id] ?? 0) > 0),
    ]),
  );
};

t.test('four shards merged are the unsharded run: counts, JUnit, coverage', { skip }, async (t) => {
  const whole = await realstack(['test-coverage']);
  t.equal(whole.exitCode, 0, 'unsharded test-coverage', { stderr: whole.stderr });
  t.equal(closing(whole.stdout), '9 passed, 0 failed');
  const wholeJunit = junitSuites();
  const wholeCoverage = coveredStatements();
  t.ok((wholeCoverage['server.cjs'] ?? []).length > 0, 'the service was measured');

  const ran: string[] = [];
  for (let i = 1; i <= 4; i++) {
    const shard = await realstack(['test-coverage', '--shard', `${i}/4`]);
    t.equal(shard.exitCode, 0, `shard ${i}`, { stderr: shard.stderr });
    t.match(shard.stderr, new RegExp(`shard ${i} of 4: \\d of 5 test files \\(balanced by`));
    const manifest = JSON.parse(readFileSync(at('test-results', 'realstack-shard.json'), 'utf8'));
    ran.push(...manifest.mine);
    // What a CI job uploads, and the merging job downloads into a folder per shard.
    cpSync(at('test-results'), at('shards', String(i), 'test-results'), { recursive: true });
    cpSync(at('coverage', 'raw'), at('shards', String(i), 'coverage', 'raw'), { recursive: true });
  }
  t.same(
    ran.sort(),
    ['a', 'b', 'c', 'd', 'e'].map((f) => `test/${f}.test.mjs`),
    'each file in exactly one shard',
  );
  rmSync(at('coverage'), { recursive: true, force: true });
  rmSync(at('test-results'), { recursive: true, force: true });

  const merged = await realstack(['merge', 'shards/1', 'shards/2', 'shards/3', 'shards/4']);
  t.equal(merged.exitCode, 0, 'merge', { stderr: merged.stderr });
  t.equal(closing(merged.stdout), '9 passed, 0 failed', 'the same closing line');
  t.match(merged.stderr, /gathered the coverage of 4 instances from 4 shards/);
  t.same(junitSuites(), wholeJunit, 'the same JUnit, times aside');
  t.same(coveredStatements(), wholeCoverage, 'the same statements covered');
});

t.test('a missing shard is named and fails the merge; bad input is named', { skip }, async (t) => {
  const missing = await realstack(['merge', 'shards/1', 'shards/2', 'shards/4']);
  t.equal(missing.exitCode, 1);
  t.match(missing.stderr, 'merge: shard 3 of 4 is missing');
  t.notOk(hasStackTrace(missing.stderr), 'no stack trace');

  const twice = await realstack(['merge', 'shards/1', 'shards/1']);
  t.equal(twice.exitCode, 1);
  t.match(twice.stderr, /shard 1 of 4 is there twice/);

  const none = await realstack(['merge', 'test']);
  t.equal(none.exitCode, 2);
  t.match(none.stderr, /test holds no realstack-shard\.json/);

  for (const bad of ['0/4', '5/4', 'two/4', '1-4']) {
    const res = await realstack(['test', '--shard', bad]);
    t.equal(res.exitCode, 2, `--shard ${bad}`);
    t.match(res.stderr, `--shard ${bad}: give I/N`);
    t.notOk(hasStackTrace(res.stderr));
  }
});
