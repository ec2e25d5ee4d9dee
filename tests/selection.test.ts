// realstack test's own options, ahead of tap's (src/testing/selection.ts).
import t from 'tap';
import { leadingProfiles, parseTestRun } from '../src/testing/selection.js';

t.test("realstack's options first, then tap's, quoted ones intact", async (t) => {
  const run = parseTestRun([
    '--set',
    'serial',
    '--jobs=2',
    '--profile',
    'dev',
    '--profile=seed',
    '--list',
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
    tapArgs: ['test/a.js', '--grep', 'a b'],
  });
  t.same(parseTestRun(['--', '--set']).tapArgs, ['--set'], 'after --, everything is tap’s');
  t.throws(() => parseTestRun(['--set', 'nightly']), {
    message: /--set nightly: the test sets are all, serial/,
  });
  t.throws(() => parseTestRun(['--profile']), { message: /--profile needs a value/ });
  t.same(leadingProfiles(['--profile', 'dev', 'test/x.js', '--profile', 'y']), {
    profiles: ['dev'],
    rest: ['test/x.js', '--profile', 'y'],
  });
});
