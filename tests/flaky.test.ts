// Retries, flaky tests, the test history and quarantine (src/flaky/, src/testing/attempts.ts),
// on a small project of its own with a real service on the process engine: its tests fail on
// purpose, in ways a file in the project controls.
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { closing, hasStackTrace, testRunId } from './helpers/cli.js';
import { processPassOnly } from './helpers/engines.js';
import { leftovers } from './helpers/leftovers.js';
import { linkedProject, tinyCompose, tinyService } from './helpers/project.js';

const skip = processPassOnly();
const runId = testRunId('flk');
const { dir, realstack } = linkedProject(
  t,
  {
    // A host port as written in the compose file: realstack publishes on a free one instead.
    // Below the kernel's ephemeral range (32768 and up), where every free port a test's stack
    // takes comes from: 38271 was once a concurrent test's service, and answered.
    'docker-compose.yml': tinyCompose.replace('ports: ["8080"]', 'ports: ["29271:8080"]'),
    // A crash on request: the stack changes under a running test.
    'server.cjs': tinyService("    if (req.url === '/crash') setTimeout(() => process.exit(3), 50);\n"),
    'package.json': '{"name": "flaky-project", "private": true, "type": "module"}\n',
    '.taprc': 'include:\n  - "test/**/*.test.mjs"\ndisable-coverage: true\nallow-empty-coverage: true\n',
    'realstack.json': `${JSON.stringify({ flaky: { retries: 1, minRuns: 2, window: 5 } }, null, 2)}\n`,
    // Fails on every other attempt (a counter file), unless the file "healed" exists.
    'test/flaky.test.mjs': `import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import t from 'tap';
t.test('steady', async (t) => {
  t.equal((await fetch(process.env.REALSTACK_WEB_URL)).status, 200);
});
t.test('fails every other attempt', async (t) => {
  const n = existsSync('attempts') ? Number(readFileSync('attempts', 'utf8')) + 1 : 1;
  writeFileSync('attempts', String(n));
  t.ok(existsSync('healed') || n % 2 === 0, 'an even attempt');
});
`,
    'test/broken.test.mjs': `import t from 'tap';
t.test('always fails', async (t) => {
  t.equal(1 + 1, 3, 'arithmetic');
});
`,
    'test/compose-port.test.mjs': `import t from 'tap';
t.test('the port of the compose file answers', async (t) => {
  t.equal((await fetch('http://localhost:29271/')).status, 200);
});
`,
    'test/crash.test.mjs': `import t from 'tap';
t.test('the service goes away under it', async (t) => {
  await fetch(new URL('/crash', process.env.REALSTACK_WEB_URL));
  // Long enough for the engine to see the exit.
  await new Promise((r) => setTimeout(r, 2500));
  const res = await fetch(process.env.REALSTACK_WEB_URL).catch(() => undefined);
  t.ok(res?.ok, 'the service answers');
});
`,
  },
  runId,
);
const junit = () => readFileSync(path.join(dir, 'test-results', 'junit.xml'), 'utf8');

t.before(async () => {
  if (skip) return;
  const up = await realstack(['up']);
  if (up.exitCode !== 0) throw new Error(up.all);
});
t.teardown(async () => {
  await realstack(['down']);
});

t.test(
  'a test that fails and then passes on a retry is flaky: counted apart, and the run passes',
  { skip },
  async (t) => {
    const res = await realstack(['test', 'test/flaky.test.mjs']);
    t.equal(res.exitCode, 0, res.stderr);
    t.match(res.stderr, 'retry 1 of 1: test/flaky.test.mjs');
    t.match(res.stderr, 'flaky: test/flaky.test.mjs: fails every other attempt (failed 1 of 2 attempts)');
    t.equal(closing(res.stdout), '1 passed, 0 failed, 1 flaky');
    t.match(
      junit(),
      /<testcase [^>]*name="fails every other attempt"[^>]*>\s*<flakyFailure message="an even attempt/,
    );
    t.match(junit(), /<testcase [^>]*name="steady"[^>]*\/>/);

    const strict = await realstack(['test', '--fail-flaky', 'test/flaky.test.mjs']);
    t.equal(strict.exitCode, 1, '--fail-flaky: a flaky test fails the run');
    t.equal(closing(strict.stdout), '1 passed, 0 failed, 1 flaky');
  },
);

t.test('a test that fails on every attempt is failed, and never quarantined', { skip }, async (t) => {
  for (let i = 0; i < 2; i++) {
    const res = await realstack(['test', 'test/broken.test.mjs']);
    t.equal(res.exitCode, 1);
    t.equal(closing(res.stdout), '0 passed, 1 failed');
    t.match(res.stderr, 'not ok: test/broken.test.mjs: always fails');
  }
  t.match(junit(), /<failure message="arithmetic/);
  const report = JSON.parse((await realstack(['flakiness', '--json'])).stdout);
  const broken = report.rows.find((r: { test: string }) => r.test === 'always fails');
  t.match(broken, { verdict: 'broken', runs: 2, failing: 2, flaky: 0, rate: 100 });
  t.match(broken.lastFailure, { class: 'test', failure: /arithmetic/ });
});

t.test(
  'over the threshold a flaky test is quarantined: it still runs, and fails no run',
  { skip },
  async (t) => {
    // Two flaky runs so far (minRuns 2, 100% > 20%): the second quarantined it.
    const list = await realstack(['quarantine']);
    t.match(
      list.stdout,
      /^test\/flaky\.test\.mjs: fails every other attempt\n\s+since .*: failed in 2 of its last 2 runs \(100%, over 20%\)/,
    );
    const res = await realstack(['test', '--retries', '0', 'test/flaky.test.mjs']);
    t.equal(res.exitCode, 0, 'its failure fails no run');
    t.equal(closing(res.stdout), '1 passed, 0 failed, 1 quarantined');
    t.match(junit(), /<skipped message="quarantined/);

    const table = await realstack(['flakiness']);
    t.equal(table.exitCode, 0);
    t.match(
      table.stdout,
      /^quarantined\s+100%\s+3\s+3\s+2\s+0 stack, 3 test\s+\S+ \S+ [0-9a-f]{0,8}\s*test\/flaky\.test\.mjs: fails every other attempt$/m,
    );
    t.match(table.stdout, /^broken\s+100%\s+2\s+2\s+0\s+/m);
    t.match(table.stderr, 'as a page: test-results/flakiness.html');
    const html = readFileSync(path.join(dir, 'test-results', 'flakiness.html'), 'utf8');
    t.match(html, /<tr class="quarantined">.*fails every other attempt/);
  },
);

t.test(
  'fix-quarantined runs only the quarantined tests and releases those that pass every round',
  { skip },
  async (t) => {
    const failing = await realstack(['fix-quarantined', '--times', '3']);
    t.equal(failing.exitCode, 1, 'it failed a round: still quarantined');
    t.match(
      failing.stderr,
      /still quarantined: test\/flaky\.test\.mjs: fails every other attempt: failed in round [12]/,
    );
    t.equal(closing(failing.stdout), '0 released, 1 still quarantined');
    t.notMatch(failing.stdout, /always fails/, 'only the quarantined test ran');

    writeFileSync(path.join(dir, 'healed'), '');
    const fixed = await realstack(['fix-quarantined', '--times', '3']);
    t.equal(fixed.exitCode, 0, fixed.stderr);
    t.match(fixed.stderr, 'round 3 of 3: 1 quarantined test');
    t.match(
      fixed.stderr,
      'released: test/flaky.test.mjs: fails every other attempt (passed 3 rounds in a row)',
    );
    t.equal(closing(fixed.stdout), '1 released, 0 still quarantined');
    t.match((await realstack(['quarantine'])).stderr, 'no test is quarantined');
    const again = await realstack(['fix-quarantined']);
    t.equal(again.exitCode, 0);
    t.match(again.stderr, 'no test is quarantined: nothing to do');
  },
);

t.test('bad input is named, not a stack trace', { skip }, async (t) => {
  const retries = await realstack(['test', '--retries', 'many']);
  t.equal(retries.exitCode, 2);
  t.match(retries.stderr, '--retries many: give a whole number from 0 to 10.');
  const times = await realstack(['fix-quarantined', '--times', '0']);
  t.equal(times.exitCode, 2);
  t.match(times.stderr, '--times 0: give a whole number of rounds from 1 to 100.');
  const config = path.join(dir, 'realstack.json');
  const good = readFileSync(config, 'utf8');
  writeFileSync(config, JSON.stringify({ flaky: { retries: 1.5 } }));
  const bad = await realstack(['test']);
  t.equal(bad.exitCode, 1);
  t.match(bad.stderr, 'realstack.json: flaky.retries must be a whole number from 0 to 10.');
  writeFileSync(config, good);
  const history = path.join(dir, '.realstack', 'history.sqlite');
  const saved = readFileSync(history);
  writeFileSync(history, 'not a database');
  const corrupt = await realstack(['flakiness']);
  t.equal(corrupt.exitCode, 1);
  t.match(corrupt.stderr, /history\.sqlite is not a realstack test history .*Move it away/);
  for (const r of [retries, times, bad, corrupt]) t.notOk(hasStackTrace(r.stderr));
  writeFileSync(history, saved);
});

t.test(
  "a test that connects to the compose file's host port is told where the service is, and what to change",
  { skip },
  async (t) => {
    const res = await realstack(['test', '--retries', '0', 'test/compose-port.test.mjs']);
    t.equal(res.exitCode, 1);
    t.equal(closing(res.stdout), '0 passed, 1 failed');
    t.match(res.stderr, /not ok: test\/compose-port\.test\.mjs: the port of the compose file answers/);
    t.match(
      res.stderr,
      /hint: a test connected to port 29271, which web publishes in the compose file \(29271:8080\); realstack publishes it on a free port of 127\.0\.0\.1 instead, at http:\/\/127\.0\.0\.1:\d+ in this run, so that runs never clash\. Read the URL from REALSTACK_WEB_URL in the test \(or serviceUrl\('web'\) from 'realstack'\), or set "pinPorts": true in web's entry in realstack\.json/,
    );
    t.match(
      junit(),
      /fetch failed: connect ECONNREFUSED (127\.0\.0\.1|::1):29271/,
      "the failure says fetch's cause",
    );
    t.notOk(hasStackTrace(res.stderr));
  },
);

t.test(
  'a failure while the stack changed is classed "stack", and no retry runs on a broken stack',
  { skip },
  async (t) => {
    const res = await realstack(['test', 'test/crash.test.mjs']);
    t.equal(res.exitCode, 1);
    t.match(res.stderr, /no retry: the stack is not healthy \(web-1 exited with code 3/);
    t.match(
      res.stderr,
      // The watch looks once a second: it may see the service stop answering before it sees the exit.
      /not ok: test\/crash\.test\.mjs: the service goes away under it \[the stack changed meanwhile: (\S+ web-1 stopped answering; )?\S+ web-1 exited with code 3\]/,
    );
    const report = JSON.parse((await realstack(['flakiness', '--json'])).stdout);
    const crash = report.rows.find((r: { test: string }) => r.test === 'the service goes away under it');
    t.match(crash, { verdict: 'broken', stackClass: 1 });
    t.match(crash.lastFailure, { class: 'stack' });
    t.match(junit(), /the stack changed meanwhile/);
  },
);

t.test('nothing of the run is left', { skip }, async (t) => {
  await realstack(['down']);
  t.same(await leftovers(runId, [], dir), []);
});
