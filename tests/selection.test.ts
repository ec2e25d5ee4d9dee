// realstack test's own options, ahead of tap's (src/testing/selection.ts).
import t from 'tap';
import { leadingCoverageOptions, parseTestRun } from '../src/testing/selection.js';
import { linkedProject } from './helpers/project.js';

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

t.test('tap is given the longest files first, and its serial folders last', async (t) => {
  const { realstack } = linkedProject(
    t,
    {
      'package.json': JSON.stringify({
        name: 'order',
        private: true,
        tap: { include: ['test/**/*.test.mjs'], serial: ['test/serial'] },
      }),
      'test/a-small.test.mjs': 'x',
      'test/b-large.test.mjs': 'x'.repeat(500),
      'test/c-medium.test.mjs': 'x'.repeat(50),
      'test/serial/a.test.mjs': 'x'.repeat(1000),
      'test/serial/b.test.mjs': 'x',
    },
    'order',
  );
  // No run history in the project yet: each file's size stands in for its time.
  const list = await realstack(['test', '--list']);
  t.equal(list.exitCode, 0, list.stderr);
  t.same(list.stdout.trim().split('\n'), [
    'test/b-large.test.mjs',
    'test/c-medium.test.mjs',
    'test/a-small.test.mjs',
    'test/serial/a.test.mjs',
    'test/serial/b.test.mjs',
  ]);
  const named = await realstack(['test', '--list', 'test/a-small.test.mjs', 'test/b-large.test.mjs']);
  t.same(
    named.stdout.trim().split('\n'),
    ['test/a-small.test.mjs', 'test/b-large.test.mjs'],
    'named files as named',
  );
});
