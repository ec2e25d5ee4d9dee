// realstack test's own options, ahead of tap's (src/testing/selection.ts).
import t from 'tap';
import { leadingCoverageOptions, parseTestRun } from '../src/testing/selection.js';

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
