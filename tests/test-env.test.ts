// realstack.json's testEnv (src/testing/test-env.ts): a project's tests as they are, reading the
// variables they already read, here a node:test file (tap runs it: node:test speaks TAP), and
// `realstack env` for a test runner of the user's own.
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { exitedZero, hasStackTrace, testRunId } from './helpers/cli.js';
import { processPassOnly } from './helpers/engines.js';
import { linkedProject, tinyCompose, tinyService } from './helpers/project.js';

const skip = processPassOnly();
const { dir, realstack } = linkedProject(
  t,
  {
    // The port the compose file fixes, which every run publishes elsewhere; and the compose
    // file's own test runner (`docker compose run tests`), whose environment the tests get.
    'docker-compose.yml': `${tinyCompose.replace('ports: ["8080"]', 'ports: ["8080:8080"]')}  tests:
    image: node:20
    working_dir: /app
    volumes: [".:/app"]
    command: ["npm", "test"]
    profiles: [test]
    environment:
      GREETING: hello from compose
      WEB_ADDR: web:8080
`,
    'server.cjs': tinyService(),
    'package.json': '{"name": "env-project", "private": true, "type": "module"}\n',
    'test/web.test.js': `import { test } from 'node:test';
import assert from 'node:assert/strict';

const base = process.env.WEB_URL ?? 'http://localhost:8080';

test('the service answers where the variable says', async () => {
  const res = await fetch(base + '/items');
  assert.equal(res.status, 200);
  assert.deepEqual(await res.json(), { ok: true });
});

test('host and port, each a variable of its own', () => {
  assert.equal(process.env.WEB_HOST_PORT, new URL(base).host);
});

test("the compose file's test runner's environment, its address made the run's", () => {
  assert.equal(process.env.GREETING, 'hello from compose');
  assert.equal(process.env.WEB_ADDR, new URL(base).host);
});
`,
    // Skipped unless asked: what a node:test failure leaves in the JUnit file.
    'test/fails.test.js': `import { test } from 'node:test';
test('refused on purpose', { skip: !process.env.FAIL_ON_PURPOSE }, async () => {
  await fetch('http://127.0.0.1:9/');
});
`,
  },
  testRunId('tenv'),
);
t.teardown(() => realstack(['down']));
const configFile = path.join(dir, 'realstack.json');
const edit = (testEnv: Record<string, string>) => {
  const config = JSON.parse(readFileSync(configFile, 'utf8'));
  writeFileSync(configFile, JSON.stringify({ ...config, testEnv }, null, 2));
};

t.test('init maps the variable, and the tests pass unchanged on a run of their own', { skip }, async (t) => {
  const init = await realstack(['init']);
  t.equal(init.exitCode, 0, init.exitCode === 0 ? 'init writes its files' : init.stderr);
  t.match(
    init.stderr,
    'tests: WEB_URL = {web} (test/web.test.js reads it, falling back to http://localhost:8080',
  );
  t.match(
    init.stderr,
    "tests runs the tests in a container (`npm test`, profile test): `npx realstack test` runs them on this machine instead, with its environment, its addresses of the stack (WEB_ADDR) made each run's (testEnvFrom in realstack.json); that profile is not started",
  );
  const written = JSON.parse(readFileSync(configFile, 'utf8'));
  t.same(written.testEnv, { WEB_URL: '{web}' });
  t.equal(written.testEnvFrom, 'tests');
  t.notOk(written.compose.profiles, "the runner's profile is not started");
  t.notOk(written.services.tests, 'nor is the runner a service to measure');
  t.notMatch(init.stderr, /tests: (role|source root|which script)/);
  edit({ WEB_URL: '{web}', WEB_HOST_PORT: '{web.host}:{web.port}' });
  const explain = await realstack(['config', '--explain']);
  t.match(
    explain.stdout,
    /\ntests get\n {2}REALSTACK_<SERVICE>_URL +each service's URL, and REALSTACK_RUN_ID\n/,
  );
  t.match(explain.stdout, /\n {2}WEB_ADDR +127\.0\.0\.1:<web:8080> \(from tests, testEnvFrom\)\n/);
  t.match(explain.stdout, /\n {2}WEB_HOST_PORT +\{web\.host\}:\{web\.port\} \(testEnv\)/);
  const res = await realstack(['test', '--retries', '0']);
  t.equal(res.exitCode, 0, res.exitCode === 0 ? 'the run passes' : res.all);
  t.match(res.stdout, /^4 passed, 0 failed, 1 skipped$/m, "the node:test tests and init's sample");
});

t.test('realstack env: what the tests get, as shell exports and as JSON', { skip }, async (t) => {
  exitedZero(t, await realstack(['up']), 'up');
  const json = await realstack(['env', '--json']);
  t.equal(json.exitCode, 0, json.stderr);
  const env = JSON.parse(json.stdout) as Record<string, string>;
  t.match(env, { REALSTACK_WEB_URL: /^http:\/\/127\.0\.0\.1:\d+$/, REALSTACK_ENGINE: 'process' });
  t.equal(env.WEB_URL, env.REALSTACK_WEB_URL);
  t.equal(env.WEB_HOST_PORT, new URL(env.WEB_URL as string).host);
  t.equal(env.WEB_ADDR, env.WEB_HOST_PORT);
  const shell = await realstack(['env']);
  t.match(shell.stdout, `export WEB_URL='${env.WEB_URL}'\n`);
});

t.test('a node:test failure says what failed and where, in the JUnit file too', { skip }, async (t) => {
  const res = await realstack(['test', '--retries', '0', 'test/fails.test.js'], { FAIL_ON_PURPOSE: '1' });
  t.equal(res.exitCode, 1);
  t.match(res.stdout, /^0 passed, 1 failed$/m);
  const junit = readFileSync(path.join(dir, 'test-results', 'junit.xml'), 'utf8');
  t.match(
    junit,
    `<failure message="refused on purpose: fetch failed (${path.join(dir, 'test', 'fails.test.js')}:2)"`,
  );
});

t.test(
  'a testEnv that names what the stack does not have is refused, saying what to write',
  { skip },
  async (t) => {
    edit({ WEB_URL: '{wbe}' });
    const unknown = await realstack(['env']);
    t.equal(unknown.exitCode, 1);
    t.match(
      unknown.stderr,
      'realstack.json: testEnv.WEB_URL names {wbe}, and the stack has no service "wbe" (it has web). Fix the name in realstack.json.',
    );
    t.notOk(hasStackTrace(unknown.stderr));
    edit({ 'WEB-URL': '{web}' });
    const name = await realstack(['env']);
    t.equal(name.exitCode, 1);
    t.match(name.stderr, 'realstack.json: testEnv.WEB-URL is not a variable name (letters, digits and _).');
    edit({ WEB_URL: 'http://{}/x' });
    const empty = await realstack(['env']);
    t.match(
      empty.stderr,
      'testEnv.WEB_URL has {}, which names no service: write {api} for its URL, {api.host} or {api.port}',
    );
    edit({});
    const config = JSON.parse(readFileSync(configFile, 'utf8'));
    writeFileSync(configFile, JSON.stringify({ ...config, testEnvFrom: 'test' }));
    const runner = await realstack(['env']);
    t.equal(runner.exitCode, 1);
    t.match(
      runner.stderr,
      'realstack.json: testEnvFrom names "test", which no compose file has; the services are web, tests.',
    );
    t.notOk(hasStackTrace(name.stderr + empty.stderr + runner.stderr));
    // A config that reads again, so that the teardown's `down` can read it.
    writeFileSync(configFile, JSON.stringify(config));
  },
);
