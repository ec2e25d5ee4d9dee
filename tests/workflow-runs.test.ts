// The workflow's recipes whose runs have a run id of their own: the smoke tests and diagnosis
// against the suite's stack as an external one, a diagnosis after a failing run on a stack of
// its own, and a refusal. Their test data never meets the suite's, so they run beside it.
import { copyFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { closing, hasStackTrace, realstack, root, testRunId } from './helpers/cli.js';
import { processPassOnly } from './helpers/engines.js';
import { filesRun, recipes } from './helpers/recipes.js';
import { externalEnv, stack } from './helpers/stack.js';

const skip = processPassOnly();
const { scratch, justDo } = recipes(t);
const external = externalEnv(stack());

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
    const state = path.join(scratch, 'state-failed');
    // The checkout's build record: in a state folder without it, the run's `up` would run the
    // host build (npm run build) again, rewriting dist/ under the tests running beside this one.
    mkdirSync(state, { recursive: true });
    copyFileSync(path.join(root, '.realstack', 'images.json'), path.join(state, 'images.json'));
    const env = {
      REALSTACK_ENGINE: 'process',
      REALSTACK_STATE_DIR: state,
      REALSTACK_RUN_ID: testRunId('diag'),
    };
    // It fails on every attempt: the project's retries (realstack.json) would only run it again.
    const failed = await justDo(['test', '--retries', '0', 'tests/fixtures/fails.fixture.ts'], env);
    t.equal(closing(failed.stdout), '0 passed, 1 failed');
    t.match(failed.stderr, 'host build (npm run build): up to date');
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
