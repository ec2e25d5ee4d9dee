// `realstack gates` (src/gates/): the security suite, flakiness, performance and coverage in one
// table, on a small project of its own with a real service on the process engine.
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { hasStackTrace, testRunId } from './helpers/cli.js';
import { processPassOnly } from './helpers/engines.js';
import { leftovers } from './helpers/leftovers.js';
import { linkedProject, tinyCompose, tinyService } from './helpers/project.js';

const skip = processPassOnly();
const runId = testRunId('gat');
const config = {
  gates: { security: ['test/auth*.test.mjs'], flakiness: 5 },
  perf: { rounds: 1, profiles: { home: { service: 'web', path: '/', connections: 2, requests: 100 } } },
  coverage: { global: { lines: 50 } },
};
const { dir, realstack } = linkedProject(
  t,
  {
    'docker-compose.yml': tinyCompose,
    'server.cjs': tinyService(),
    'package.json': '{"name": "gates-project", "private": true, "type": "module"}\n',
    '.taprc': 'include:\n  - "test/**/*.test.mjs"\ndisable-coverage: true\nallow-empty-coverage: true\n',
    'realstack.json': `${JSON.stringify(config, null, 2)}\n`,
    'test/auth.test.mjs': `import t from 'tap';
t.test('the service refuses nobody it should refuse', async (t) => {
  t.equal((await fetch(process.env.REALSTACK_WEB_URL)).status, 200);
});
`,
    'test/other.test.mjs': `import t from 'tap';
t.test('something else', async (t) => {
  t.pass('not a security test');
});
`,
  },
  runId,
);
t.teardown(async () => {
  await realstack(['down']);
});
const row = (stdout: string, gate: string) => stdout.split('\n').find((l) => l.startsWith(`${gate} `)) ?? '';
const gatesJson = () =>
  JSON.parse(readFileSync(path.join(dir, 'test-results', 'quality-gates.json'), 'utf8')) as {
    ok: boolean;
    gates: { gate: string; ok: boolean }[];
  };

t.test('every gate in one table; each that cannot pass says what it needs', { skip }, async (t) => {
  const res = await realstack(['gates']);
  t.equal(res.exitCode, 1);
  t.match(res.stdout, /^gate\s+verdict\s+figure\s+limit\s+detail$/m);
  t.match(
    row(res.stdout, 'security'),
    /^security\s+ok\s+1 passed, 0 failed\s+every test passes\s+1 files: test\/auth\*\.test\.mjs$/,
  );
  t.notMatch(res.stdout, /something else/, 'only the security suite ran');
  t.match(
    row(res.stdout, 'flakiness'),
    /^flakiness\s+ok\s+0\.0% of 1 test runs flaky\s+at most 5% of test runs\s+no flaky run$/,
  );
  t.match(
    row(res.stdout, 'performance'),
    /^performance\s+FAIL\s+0 of 1 profiles within\s+.*no baseline for home: just perf --update-baseline$/,
  );
  t.match(
    row(res.stdout, 'coverage'),
    /^coverage\s+FAIL\s+-\s+lines 50%\s+.*coverage-final\.json does not exist: run `npx realstack test-coverage`/,
  );
  t.match(res.stderr, 'quality gates failed: performance, coverage');
  t.match(gatesJson(), {
    ok: false,
    gates: [
      { gate: 'security', ok: true },
      { gate: 'flakiness', ok: true },
      { gate: 'performance', ok: false },
      { gate: 'coverage', ok: false },
    ],
  });
});

t.test('each gate alone, as its recipe runs it', { skip }, async (t) => {
  t.equal((await realstack(['perf', '--update-baseline'])).exitCode, 0);
  const file = path.join(dir, 'perf', 'baselines', 'home.json');
  // A baseline every real figure beats: the gate's verdict does not hang on this machine's speed.
  writeFileSync(
    file,
    JSON.stringify({
      ...JSON.parse(readFileSync(file, 'utf8')),
      median: { p50: 1e6, p95: 1e6, p99: 1e6, rps: 1 },
    }),
  );
  const perf = await realstack(['gates', 'performance']);
  t.equal(perf.exitCode, 0, perf.stdout);
  t.match(
    row(perf.stdout, 'performance'),
    /^performance\s+ok\s+1 of 1 profiles within\s+p50 \+10%, p95 \+15%, p99 \+20%, throughput -5%\s+every profile against its baseline$/,
  );
  t.same(
    gatesJson().gates.map((g) => g.gate),
    ['performance'],
    'the JSON holds the gates that ran',
  );

  const coverage = await realstack(['test-coverage', 'test/other.test.mjs']);
  t.equal(coverage.exitCode, 0, coverage.stderr);
  const cov = await realstack(['gates', 'coverage']);
  t.equal(cov.exitCode, 0, cov.stdout);
  t.match(
    row(cov.stdout, 'coverage'),
    /^coverage\s+ok\s+every threshold met\s+lines 50%\s+the last report \(coverage\/\)$/,
  );
});

t.test('a failing security test fails the security gate, named', { skip }, async (t) => {
  writeFileSync(
    path.join(dir, 'test', 'auth-tokens.test.mjs'),
    "import t from 'tap';\nt.test('an expired token is refused', async (t) => {\n  t.equal(200, 401, 'the answer');\n});\n",
  );
  const res = await realstack(['gates', 'security']);
  t.equal(res.exitCode, 1);
  t.match(
    row(res.stdout, 'security'),
    /^security\s+FAIL\s+1 passed, 1 failed\s+every test passes\s+test\/auth-tokens\.test\.mjs: an expired token is refused$/,
  );
  t.match(res.stderr, 'quality gates failed: security');
});

t.test('bad input is named, not a stack trace', { skip }, async (t) => {
  const res = await realstack(['gates', 'speed']);
  t.equal(res.exitCode, 2);
  t.match(res.stderr, 'no gate "speed"; the gates are security, flakiness, performance, coverage.');
  t.notOk(hasStackTrace(res.stderr));
});

t.test('nothing of the runs is left', { skip }, async (t) => {
  await realstack(['down']);
  t.same(await leftovers(runId, [], dir), []);
});
