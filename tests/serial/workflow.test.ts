// The test workflow's recipes as a user types them, each run for real against the suite's
// stack: tap runs inside tap, so the inner runs pick their files narrowly. Serial: the inner
// runs are whole tap runs, and some start stacks of their own.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { hasStackTrace, innerHistory, realstack, root, run, testRunId } from '../helpers/cli.js';
import { processPassOnly } from '../helpers/engines.js';
import { externalEnv, stack } from '../helpers/stack.js';

const skip = processPassOnly();

const s = stack();
const just = path.join(root, 'node_modules', '.bin', 'just');
const scratch = mkdtempSync(path.join(os.tmpdir(), 'realstack-workflow-'));
t.teardown(() => rmSync(scratch, { recursive: true, force: true }));
const junit = path.join(scratch, 'junit.xml');
const justDo = (args: string[], env: Record<string, string> = {}) =>
  run(just, args, {
    cwd: root,
    env: { ...process.env, REALSTACK_JUNIT_FILE: junit, REALSTACK_HISTORY: innerHistory, ...env },
  });

const closing = (stdout: string) => stdout.trim().split('\n').at(-1) ?? '';
/** The test files an inner run ran, from its TAP stream. */
const filesRun = (stdout: string) =>
  [...stdout.matchAll(/^# Subtest: (tests\/\S+)$/gm)].map((m) => m[1] as string).sort();
const external = externalEnv(s);

t.test(
  'test-n passes a quoted argument to tap intact, ends with the closing line, writes JUnit',
  { skip },
  async (t) => {
    const res = await justDo(['test-n', '2', 'tests/auth-metadata.test.ts', '--grep=M3 the JWKS']);
    t.equal(res.exitCode, 0, res.stderr);
    t.match(
      closing(res.stdout),
      /^1 passed, 0 failed, \d+ skipped$/,
      'only the test the two-word pattern names ran',
    );
    const xml = readFileSync(junit, 'utf8');
    t.match(xml, /^<\?xml/);
    t.match(xml, /<testcase [^>]*name="M3 the JWKS holds public keys only/);
  },
);

for (const recipe of ['test-parallel', 'test-fast', 'test']) {
  t.test(`${recipe} runs the files it is given`, { skip }, async (t) => {
    const res = await justDo([recipe, 'tests/auth-metadata.test.ts']);
    t.equal(res.exitCode, 0, res.stderr);
    t.same(filesRun(res.stdout), ['tests/auth-metadata.test.ts']);
    t.match(closing(res.stdout), /^\d+ passed, 0 failed$/);
  });
}

t.test('test-by-module prints each file’s results and time before the closing line', { skip }, async (t) => {
  const res = await justDo([
    'test-by-module',
    'tests/auth-metadata.test.ts',
    'tests/api-resource-server.test.ts',
  ]);
  t.equal(res.exitCode, 0, res.stderr);
  t.match(res.stdout, /^file\s+passed\s+failed\s+skipped\s+time$/m);
  t.match(res.stdout, /^tests\/auth-metadata\.test\.ts\s+\d+\s+0\s+0\s+[\d.]+s$/m);
  t.match(res.stdout, /^tests\/api-resource-server\.test\.ts\s+\d+\s+0\s+0\s+[\d.]+s$/m);
});

t.test(
  'test-serial runs tap’s serial folders only; test-parallel-safe everything else',
  { skip },
  async (t) => {
    // --list: the files the recipe's set hands to tap, and nothing run.
    const serial = await justDo(['test-serial', '--list']);
    t.equal(serial.exitCode, 0, serial.stderr);
    const serialFiles = serial.stdout.trim().split('\n');
    t.ok(serialFiles.includes('tests/serial/workflow.test.ts'));
    t.ok(serialFiles.includes('tests/chaos/reference.test.ts'));
    // package.json's tap.serial: tests/serial and tests/chaos.
    const isSerial = (f: string) => f.startsWith('tests/serial/') || f.startsWith('tests/chaos/');
    t.ok(serialFiles.every(isSerial), serialFiles.join(' '));
    const safe = await justDo(['test-parallel-safe', '--list']);
    t.equal(safe.exitCode, 0, safe.stderr);
    const safeFiles = safe.stdout.trim().split('\n');
    t.ok(
      safeFiles.includes('tests/golden/responses.test.ts') && safeFiles.includes('tests/auth-flow.test.ts'),
    );
    t.notOk(safeFiles.some(isSerial), 'no serial file');
    t.same(
      [...serialFiles, ...safeFiles].sort(),
      (await justDo(['test', '--list'])).stdout.trim().split('\n').sort(),
      'together, every file of the suite',
    );
    // A pattern no test matches: the file starts, and skips all its tests.
    const none = await justDo([
      'test-parallel-safe',
      'tests/auth-metadata.test.ts',
      '--grep=^no test is named this$',
    ]);
    t.match(closing(none.stdout), /^0 passed, 0 failed, \d+ skipped$/, 'skipped tests count as skipped');

    const outside = await justDo(['test-serial', 'tests/auth-metadata.test.ts']);
    t.equal(outside.exitCode, 2);
    t.match(outside.stderr, 'tests/auth-metadata.test.ts is not in the serial set');
    const jobs = await justDo(['test-n', 'many']);
    t.equal(jobs.exitCode, 2);
    t.match(jobs.stderr, '--jobs many: give a whole number from 1 to 64, or auto');
    for (const r of [outside, jobs]) t.notOk(hasStackTrace(r.stderr));
  },
);

t.test(
  'test-smoke: the smoke tests against a running stack, which it neither starts nor stops',
  { skip },
  async (t) => {
    const id = testRunId('smoke');
    const res = await justDo(['test-smoke'], { ...external, REALSTACK_RUN_ID: id });
    t.equal(res.exitCode, 0, res.stderr);
    t.match(
      closing(res.stdout),
      /^4 passed, 0 failed, \d+ skipped$/,
      'the four tests named "smoke: ..." ran',
    );
    t.same(filesRun(res.stdout), [
      'tests/api-resource-server.test.ts',
      'tests/api-tenancy.test.ts',
      'tests/auth-flow.test.ts',
      'tests/auth-metadata.test.ts',
    ]);
    const left = await realstack(['cleanup', '--show', '--run', id, '--json']);
    const data = JSON.parse(left.stdout) as { testData: { records: Record<string, unknown[]> }[] };
    t.same(
      data.testData.flatMap((x) => Object.values(x.records).flat()),
      [],
      'everything it created (all named "TEST <run>") it removed again',
    );
    const ps = await realstack(['ps', '--json']);
    t.ok(
      (JSON.parse(ps.stdout) as { services: { health: string }[] }).services.every(
        (x) => x.health === 'healthy',
      ),
      'the stack still runs',
    );
  },
);

t.test('test-golden-update refuses under CI=true', { skip }, async (t) => {
  const res = await justDo(['test-golden-update'], { CI: 'true' });
  t.equal(res.exitCode, 2);
  t.match(res.stderr, 'refusing to rewrite the golden snapshots under CI=true');
  t.notOk(hasStackTrace(res.stderr));
});

t.test(
  'a golden snapshot fails when the response changes shape, and names what changed',
  { skip },
  async (t) => {
    const snapshot = path.join(scratch, 'shape.cjs');
    const fixture = 'tests/fixtures/golden-shape.fixture.ts';
    const env = { GOLDEN_FIXTURE_SNAPSHOT: snapshot };
    const write = await justDo(['test', '--snapshot', fixture], env);
    t.equal(write.exitCode, 0, write.stderr);
    t.match(readFileSync(snapshot, 'utf8'), /"resource": "https:\/\/api\.realstack\.test"/);
    const same = await justDo(['test', fixture], env);
    t.equal(closing(same.stdout), '1 passed, 0 failed', 'the same response matches');
    const changed = await justDo(['test', fixture], { ...env, GOLDEN_FIXTURE_DROP: 'scopes_supported' });
    t.equal(changed.exitCode, 1);
    t.equal(closing(changed.stdout), '0 passed, 1 failed');
    t.match(changed.stdout, /^\s+-\s+"scopes_supported": Array \[/m, 'the diff names the field that went');
  },
);

t.test(
  'diagnose-tests: engine, services, test-data APIs and the project’s own round trip, all well',
  { skip },
  async (t) => {
    const state = path.join(scratch, 'state-ok');
    const res = await justDo(['diagnose-tests'], { ...external, REALSTACK_STATE_DIR: state });
    t.equal(res.exitCode, 0, res.stdout + res.stderr);
    t.match(res.stdout, /^ok\s+engine\s+external for new stacks/m);
    for (const svc of ['postgres-1', 'auth-1', 'api-1'])
      t.match(res.stdout, new RegExp(`^ok\\s+service ${svc}\\s`, 'm'));
    for (const svc of ['auth', 'api'])
      t.match(
        res.stdout,
        new RegExp(`^ok\\s+test data of ${svc}\\s+its test-data API answers and accepts the token`, 'm'),
      );
    t.match(
      res.stdout,
      /^ok\s+token round trip to api\s+.*→ the token accepted by .*\/v1\/me/m,
      'realstack.json diagnose.checks',
    );
    t.match(res.stdout, /^note\s+last run\s+no test run recorded here yet/m);
    const left = await realstack(['cleanup', '--show', '--json'], external);
    t.notMatch(left.stdout, /diag[0-9a-f]{6}/, 'the round trip’s user and client are gone');

    const wrong = await justDo(['diagnose-tests'], {
      ...external,
      REALSTACK_STATE_DIR: state,
      REALSTACK_ADMIN_TOKEN: 'wrong',
    });
    t.equal(wrong.exitCode, 1);
    t.match(wrong.stdout, /^FAIL\s+test data\s+auth refused REALSTACK_ADMIN_TOKEN/m);
    t.match(
      wrong.stdout,
      /^FAIL\s+token round trip to api\s+node dist\/scripts\/diagnose-round-trip\.js exited 1/m,
    );
  },
);

t.test(
  'diagnose-tests after a failing run: the failing test and what the services logged meanwhile',
  { skip },
  async (t) => {
    const env = {
      REALSTACK_ENGINE: 'process',
      REALSTACK_STATE_DIR: path.join(scratch, 'state-failed'),
      REALSTACK_RUN_ID: testRunId('diag'),
    };
    const failed = await justDo(['test', 'tests/fixtures/fails.fixture.ts'], env);
    t.equal(closing(failed.stdout), '0 passed, 1 failed');
    const res = await justDo(['diagnose-tests'], env);
    t.equal(res.exitCode, 1);
    t.match(res.stdout, /^FAIL\s+last run\s+.*0 passed, 1 failed/m);
    t.match(res.stdout, 'not ok: tests/fixtures/fails.fixture.ts: expects the api to answer without a token');
    t.match(res.stdout, 'while tests/fixtures/fails.fixture.ts ran, the services logged');
    t.match(res.stdout, /\| api-1 \| .*"statusCode":401/, 'the api’s 401 to that request');
    t.match(res.stdout, /→ run one failing file alone/);
    t.match(res.stdout, /^note\s+stack\s+no run .* is known/m, 'its stack is down, and diagnose says so');
  },
);
