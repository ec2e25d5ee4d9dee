// The test workflow's recipes as a user types them, each run for real against the suite's
// stack: tap runs inside tap, so the inner runs pick their files narrowly. The inner runs attach
// to that stack as an external one under a run id of their own, so their workers' test data never
// meets the suite's same-numbered workers' and the file runs beside the others. The smoke tests
// and diagnosis are in tests/workflow-runs.test.ts.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { closing, hasStackTrace, testRunId } from './helpers/cli.js';
import { processPassOnly } from './helpers/engines.js';
import { filesRun, recipes } from './helpers/recipes.js';
import { externalEnv, stack } from './helpers/stack.js';

const skip = processPassOnly();
const { scratch, junit, justDo } = recipes(t, { ...externalEnv(stack()), REALSTACK_RUN_ID: testRunId('wf') });

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
    t.ok(serialFiles.includes('tests/serial/cleanup.test.ts'));
    t.ok(serialFiles.includes('tests/serial/chaos/reference.test.ts'), 'a serial folder’s subfolders too');
    // package.json's tap.serial: tests/serial.
    const isSerial = (f: string) => f.startsWith('tests/serial/');
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
    // It fails on every attempt: the project's retries (realstack.json) would only run it again.
    const changed = await justDo(['test', '--retries', '0', fixture], {
      ...env,
      GOLDEN_FIXTURE_DROP: 'scopes_supported',
    });
    t.equal(changed.exitCode, 1);
    t.equal(closing(changed.stdout), '0 passed, 1 failed');
    t.match(changed.stdout, /^\s+-\s+"scopes_supported": Array \[/m, 'the diff names the field that went');
  },
);
