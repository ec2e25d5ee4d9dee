// realstack.json's testEnv (src/testing/test-env.ts): a project's tests as they are, reading the
// variables they already read, here a node:test file (tap runs it: node:test speaks TAP), and
// `realstack env` for a test runner of the user's own.
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { hasStackTrace, testRunId } from './helpers/cli.js';
import { processPassOnly } from './helpers/engines.js';
import { linkedProject, tinyCompose, tinyService } from './helpers/project.js';

const skip = processPassOnly();
const { dir, realstack } = linkedProject(
  t,
  {
    // The port the compose file fixes, which every run publishes elsewhere.
    'docker-compose.yml': tinyCompose.replace('ports: ["8080"]', 'ports: ["8080:8080"]'),
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
  t.equal(init.exitCode, 0, init.stderr);
  t.match(
    init.stderr,
    'tests: WEB_URL = {web} (test/web.test.js reads it, falling back to http://localhost:8080',
  );
  t.same(JSON.parse(readFileSync(configFile, 'utf8')).testEnv, { WEB_URL: '{web}' });
  edit({ WEB_URL: '{web}', WEB_HOST_PORT: '{web.host}:{web.port}' });
  const res = await realstack(['test', '--retries', '0']);
  t.equal(res.exitCode, 0, res.exitCode === 0 ? 'the run passes' : res.all);
  t.match(res.stdout, /^3 passed, 0 failed$/m, "the two node:test tests and init's sample");
});

t.test('realstack env: what the tests get, as shell exports and as JSON', { skip }, async (t) => {
  t.equal((await realstack(['up'])).exitCode, 0);
  const json = await realstack(['env', '--json']);
  t.equal(json.exitCode, 0, json.stderr);
  const env = JSON.parse(json.stdout) as Record<string, string>;
  t.match(env, { REALSTACK_WEB_URL: /^http:\/\/127\.0\.0\.1:\d+$/, REALSTACK_ENGINE: 'process' });
  t.equal(env.WEB_URL, env.REALSTACK_WEB_URL);
  t.equal(env.WEB_HOST_PORT, new URL(env.WEB_URL as string).host);
  const shell = await realstack(['env']);
  t.match(shell.stdout, `export WEB_URL='${env.WEB_URL}'\n`);
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
    t.notOk(hasStackTrace(name.stderr + empty.stderr));
  },
);
