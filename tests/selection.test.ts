// realstack test's own options, ahead of tap's (src/testing/selection.ts).
import t from 'tap';
import { leadingCoverageOptions, parseTestRun } from '../src/testing/selection.js';
import { testRunId } from './helpers/cli.js';
import { linkedProject, tinyCompose, tinyService } from './helpers/project.js';

t.test("realstack's options first, then tap's, quoted ones intact", async (t) => {
  const run = parseTestRun([
    '--set',
    'serial',
    '--jobs=2',
    '--profile',
    'dev',
    '--profile=seed',
    '--list',
    '--retries=2',
    '--fail-flaky',
    'test/a.js',
    '--grep',
    'a b',
  ]);
  t.same(run, {
    set: 'serial',
    jobs: 2,
    byModule: false,
    updateGolden: false,
    list: true,
    profiles: ['dev', 'seed'],
    retries: 2,
    failFlaky: true,
    tapArgs: ['test/a.js', '--grep', 'a b'],
  });
  t.same(parseTestRun(['--', '--set']).tapArgs, ['--set'], 'after --, everything is tap’s');
  t.throws(() => parseTestRun(['--set', 'nightly']), {
    message: /--set nightly: the test sets are all, serial/,
  });
  t.throws(() => parseTestRun(['--profile']), { message: /--profile needs a value/ });
  t.throws(() => parseTestRun(['--retries', '11']), {
    message: /--retries 11: give a whole number from 0 to 10/,
  });
  t.same(
    leadingCoverageOptions([
      '--profile',
      'dev',
      '--per-test',
      '--retries',
      '1',
      'test/x.js',
      '--profile',
      'y',
    ]),
    {
      profiles: ['dev'],
      perTest: true,
      retries: 1,
      failFlaky: false,
      rest: ['test/x.js', '--profile', 'y'],
    },
  );
});

t.test(
  '--list prints the files in the order tap queues them: its own, sorted, whatever order it is given',
  async (t) => {
    const pass = "import t from 'tap';\nt.pass('ran');\n";
    const { realstack } = linkedProject(
      t,
      {
        'package.json': JSON.stringify({
          name: 'order',
          private: true,
          tap: { include: ['test/**/*.test.mjs'], serial: ['test/serial'] },
        }),
        'docker-compose.yml': tinyCompose,
        'server.cjs': tinyService(),
        'test/b-large.test.mjs': `${pass}// ${'x'.repeat(500)}\n`,
        'test/a-small.test.mjs': pass,
        'test/serial/a.test.mjs': pass,
        'test/z-last.test.mjs': pass,
      },
      testRunId('ord'),
    );
    const list = await realstack(['test', '--list']);
    t.equal(list.exitCode, 0, list.stderr);
    const listed = list.stdout.trim().split('\n');
    t.same(listed, [
      'test/a-small.test.mjs',
      'test/b-large.test.mjs',
      'test/serial/a.test.mjs',
      'test/z-last.test.mjs',
    ]);

    // tap queues each file once its stat returns (@tapjs/run's execute-test-suite.js): twice in
    // CI, under load, two neighbours swapped. What it runs is the list; its order, nearly always.
    const res = await realstack(['test', '--jobs', '1', '--retries', '0']);
    t.equal(res.exitCode, 0, res.stderr);
    const ran = [...res.stdout.matchAll(/^# Subtest: (\S+)$/gm)].map((m) => m[1] as string);
    t.same(ran.sort(), [...listed].sort(), 'tap ran exactly the listed files', {
      stdout: res.stdout,
      stderr: res.stderr,
    });

    const named = await realstack(['test', '--list', 'test/z-last.test.mjs', 'test/a-small.test.mjs']);
    t.same(
      named.stdout.trim().split('\n'),
      ['test/a-small.test.mjs', 'test/z-last.test.mjs'],
      'named files too',
    );
  },
);
