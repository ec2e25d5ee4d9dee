// How `realstack test` starts tap (src/testing/tap-runner/): with the `tap` reporter, the runner
// starts without the packages only tap's other reporters use, with tap's coverage off its test
// processes start without tap's process recorder, and the TAP stream it writes is the one tap
// writes when started as a user starts it.
import { mkdirSync, readdirSync, readlinkSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { checkNamedFiles } from '../src/testing/selection.js';
import { reporterOf, tapCommand } from '../src/testing/tap-runner/command.js';
import { showsTypeScript } from '../src/testing/tap-runner/typescript.js';
import { hasStackTrace, run, testRunId } from './helpers/cli.js';
import { processPassOnly } from './helpers/engines.js';
import { linkedProject, tapPlugins, tempProject, tinyCompose, tinyService } from './helpers/project.js';

const skip = processPassOnly();

t.test('the reporter in force is the last one given, in any of its spellings', async (t) => {
  t.equal(reporterOf(['--reporter=tap', '--jobs=2']), 'tap');
  t.equal(reporterOf(['--reporter=tap', '-R', 'spec']), 'spec');
  t.equal(reporterOf(['--reporter=tap', '-Rdot']), 'dot');
  t.equal(reporterOf(['--reporter=tap', '--reporter', 'terse', 'test/a.test.mjs']), 'terse');
  t.equal(reporterOf(['test/a.test.mjs']), undefined);
});

t.test("a file's absence is told from tap's other arguments", async (t) => {
  const dir = tempProject(t, { 'test/a.test.mjs': '' });
  t.doesNotThrow(() =>
    checkNamedFiles(dir, [
      '--grep',
      'a/b',
      'test/a.test.mjs',
      'test/**/*.test.mjs',
      '--reporter=tap',
      'test',
    ]),
  );
  t.throws(() => checkNamedFiles(dir, ['test/a.test.mjs', 'test/b.test.mjs', 'c.test.ts']), {
    message: /^test\/b\.test\.mjs, c\.test\.ts: no such test file in /,
  });
});

t.test('the lean start is taken only for the tap reporter and a tap of the project', async (t) => {
  const leanRun = { coverageOff: true, typescriptByFile: true };
  const { dir } = linkedProject(t, {}, testRunId('tapcmd'));
  const lean = tapCommand(dir, ['--reporter=tap', 'test/a.test.mjs'], {
    coverageOff: false,
    typescriptByFile: false,
  });
  t.equal(lean.file, process.execPath, 'node starts the runner');
  t.match(lean.args[0], /^--import=file:.*\/tap-runner\/register\.js$/);
  t.match(
    tapCommand(dir, ['--reporter=tap'], leanRun).args[0],
    /^--import=file:.*\/tap-runner\/register\.js\?coverage=off&typescript=by-file$/,
    'the runner is told when coverage is off, and when the project shows no TypeScript',
  );
  const ahead = tapCommand(dir, ['--reporter=tap'], { ...leanRun, waitForStack: true });
  t.match(ahead.args[0], /\?coverage=off&typescript=by-file&wait=stack$/, 'started ahead: it waits');
  t.equal(ahead.waitsForStack, true);
  t.match(lean.args[1], /\/tap\/dist\/esm\/run\.mjs$/, "then the project's tap, its link followed");
  t.same(lean.args.slice(2), ['--reporter=tap', 'test/a.test.mjs']);
  t.same(tapCommand(dir, ['--reporter=tap', '-R', 'spec'], leanRun), {
    file: 'tap',
    args: ['--reporter=tap', '-R', 'spec'],
  });
  const later = tempProject(t, {
    'node_modules/tap/dist/esm/run.mjs': '',
    'node_modules/@tapjs/run/package.json':
      '{"name": "@tapjs/run", "version": "5.0.0", "exports": {"./package.json": "./package.json"}}',
  });
  mkdirSync(path.join(later, 'node_modules', '.bin'));
  symlinkSync('../tap/dist/esm/run.mjs', path.join(later, 'node_modules', '.bin', 'tap'));
  t.same(
    tapCommand(later, ['--reporter=tap'], { ...leanRun, waitForStack: true }),
    { file: 'tap', args: ['--reporter=tap'] },
    'a runner whose imports were not checked starts as tap starts, and cannot wait',
  );
  const noTap = tempProject(t, {});
  t.same(
    tapCommand(noTap, ['--reporter=tap'], leanRun),
    { file: 'tap', args: ['--reporter=tap'] },
    'no tap here: tap from PATH',
  );
});

t.test(
  'a project shows TypeScript by a tsconfig tap reads, a TypeScript package, or tap settings',
  async (t) => {
    const env = {};
    const js = tempProject(t, {
      'package.json': '{"devDependencies": {"tap": "^21.0.0", "@types/node": "^20"}}',
    });
    t.notOk(showsTypeScript(js, {}, env), 'JavaScript and tap: no');
    t.notOk(showsTypeScript(tempProject(t, {}), {}, env), 'no package.json: no');
    t.notOk(showsTypeScript(js, { plugin: ['!@tapjs/typescript'] }, env), 'the plugin left out: no');
    for (const [files, why] of [
      [{ 'tsconfig.json': '{}' }, 'tsconfig.json'],
      [{ 'tsconfig.test.json': '{}' }, 'tsconfig.test.json'],
      [{ 'package.json': '{"devDependencies": {"typescript": "^5"}}' }, 'typescript'],
      [{ 'package.json': '{"dependencies": {"tsx": "^4"}}' }, 'tsx'],
    ] as const)
      t.ok(showsTypeScript(tempProject(t, files), {}, env), why);
    t.ok(showsTypeScript(js, { typecheck: true }, env), "tap's typecheck");
    t.ok(showsTypeScript(js, { plugin: ['@tapjs/typescript'] }, env), 'the plugin named');
    t.ok(showsTypeScript(js, {}, { TAP_TSCONFIG: 'tsconfig.build.json' }), 'TAP_TSCONFIG');
  },
);

t.test(
  'realstack test writes the TAP stream tap writes, failures and skips included; another reporter is refused',
  { skip },
  async (t) => {
    const { dir, realstack } = linkedProject(
      t,
      {
        'docker-compose.yml': tinyCompose,
        'server.cjs': tinyService(),
        'package.json': '{"name": "tap-runner-project", "private": true, "type": "module"}\n',
        'test/mixed.test.mjs': `import t from 'tap';
t.test('passes', async (t) => { t.equal(1 + 1, 2, 'sums'); });
t.test('fails', async (t) => { t.equal('a', 'b', 'differs on purpose'); });
t.skip('skipped on purpose');
t.todo('left to do');
`,
      },
      testRunId('taprun'),
    );
    t.teardown(() => realstack(['down']));
    for (const [args, named] of [
      [['-R', 'dot'], '-R dot'],
      [['--reporter=junit'], '-R junit'],
      [['--reporter-file', 'out.txt'], '-f out.txt'],
    ] as const) {
      const refused = await realstack(['test', ...args]);
      t.equal(refused.exitCode, 2, `${args.join(' ')}: refused before anything starts`);
      t.match(refused.stderr, `${named}: realstack test counts the results from tap's TAP output`);
      t.notOk(hasStackTrace(refused.all ?? ''), 'in words, not a stack trace');
    }
    for (const command of ['test', 'test-coverage']) {
      const missing = await realstack([command, 'test/nope.test.mjs']);
      t.equal(missing.exitCode, 2, `${command} of a file that is not there: refused before anything starts`);
      t.match(missing.stderr, 'test/nope.test.mjs: no such test file in');
    }
    t.notMatch((await realstack(['ps'])).all, /web-1\s+running/, 'and no stack was started for them');
    const viaRealstack = await realstack(['test', '--retries', '0']);
    t.equal(viaRealstack.exitCode, 1, 'a failing test fails the run');
    t.match(viaRealstack.stdout, /1 passed, 1 failed/);
    const plain = await run(
      path.join(dir, 'node_modules', '.bin', 'tap'),
      ['--reporter=tap', '--disable-coverage', 'test/mixed.test.mjs'],
      {
        cwd: dir,
        env: { PATH: process.env.PATH, HOME: process.env.HOME, TAP_PLUGIN: tapPlugins },
        extendEnv: false,
      },
    );
    t.equal(plain.exitCode, 1);
    // The test points of both streams at every depth, their timings left out.
    const points = (stdout: string) =>
      stdout
        .split('\n')
        .filter((line) => /^\s*(not )?ok \d+ /.test(line))
        .map((line) => line.replace(/ # time=[\d.]+m?s$/, ''));
    t.ok(points(plain.stdout).length >= 6, 'the plain run reports every test point');
    t.same(points(viaRealstack.stdout), points(plain.stdout));
  },
);

t.test(
  "tap and its test processes find the project's bins first, and carry tap's process recorder only for tap's coverage; a project without tap is told how to get it",
  { skip },
  async (t) => {
    const taprc = (coverage: boolean) =>
      `include:\n  - "test/**/*.test.mjs"\ndisable-coverage: ${!coverage}\nallow-empty-coverage: true\n`;
    const { dir, realstack } = linkedProject(
      t,
      {
        'docker-compose.yml': tinyCompose,
        'server.cjs': tinyService(),
        'package.json': '{"name": "tap-path-project", "private": true, "type": "module"}\n',
        '.taprc': taprc(false),
        // As `npm test` gives it: a test that runs a bin of the project finds it.
        'test/path.test.mjs': `import { execFileSync } from 'node:child_process';
import path from 'node:path';
import t from 'tap';
t.test('the PATH', async (t) => {
  const dirs = process.env.PATH.split(path.delimiter);
  t.equal(dirs[0], path.join(process.cwd(), 'node_modules', '.bin'), "the project's bins first");
  t.ok(dirs.includes(path.dirname(process.execPath)), "this Node's folder");
});
t.test("tap's process recorder", async (t) => {
  const recorder = /@tapjs[\\\\/]processinfo[\\\\/]/;
  const wanted = process.env.RECORDER === 'yes';
  t.equal(process.execArgv.some((a) => recorder.test(a)), wanted, 'in the test process');
  const options = execFileSync(process.execPath, ['-p', 'process.env.NODE_OPTIONS ?? ""'], { encoding: 'utf8' });
  t.equal(recorder.test(options), wanted, 'in a Node process the test starts');
});
`,
      },
      testRunId('tappath'),
    );
    t.teardown(() => realstack(['down']));
    const found = await realstack(['test', '--retries', '0'], { RECORDER: 'no' });
    t.equal(found.exitCode, 0, found.stdout);
    t.equal(found.stdout.trim().split('\n').at(-1), '2 passed, 0 failed');
    // tap's coverage reads what the recorder writes: with coverage on, it stays.
    writeFileSync(path.join(dir, '.taprc'), taprc(true));
    const covered = await realstack(['test', '--retries', '0'], { RECORDER: 'yes' });
    t.equal(covered.exitCode, 0, covered.stdout);
    t.equal(covered.stdout.trim().split('\n').at(-1), '2 passed, 0 failed');

    for (const link of ['tap', '.bin/tap']) rmSync(path.join(dir, 'node_modules', link));
    const none = await realstack(['test', '--retries', '0'], { PATH: '/usr/local/bin:/usr/bin:/bin' });
    t.equal(none.exitCode, 1);
    t.match(
      none.stderr,
      /tap did not start \(spawn tap ENOENT\): install it in the project, `npm install --save-dev tap`/,
    );
    t.notOk(hasStackTrace(none.stderr));
    t.notMatch((await realstack(['ps'])).all, /web-1\s+running/, 'the stack it started is down again');
  },
);

/** The processes whose working folder is `dir`: what a run in that project left running. */
const processesIn = (dir: string) =>
  readdirSync('/proc')
    .filter((pid) => /^\d+$/.test(pid))
    .filter((pid) => {
      try {
        return readlinkSync(`/proc/${pid}/cwd`) === dir;
      } catch {
        return false; // gone meanwhile, or a zombie
      }
    });

t.test(
  "tap's runner starts while the stack comes up, and its tests start once it is ready, with its URLs; a stack that fails leaves no runner",
  { skip },
  async (t) => {
    const compose = tinyCompose.replace('server.cjs', 'slow.cjs');
    const { dir, realstack } = linkedProject(
      t,
      {
        'docker-compose.yml': compose,
        // Listens a second and a half after its start, and says when.
        'slow.cjs': `setTimeout(() => {
  require('node:fs').writeFileSync('listening.txt', String(Date.now()));
  ${tinyService().replace(/\n/g, '\n  ')}
}, 1500);
`,
        'package.json': '{"name": "tap-ahead-project", "private": true, "type": "module"}\n',
        // The runner is this test process's parent: its start, from /proc, against the service's.
        'test/order.test.mjs': `import { readFileSync } from 'node:fs';
import t from 'tap';
t.test('the runner started before the service listened; the test after', async (t) => {
  const btime = Number(/^btime (\\d+)$/m.exec(readFileSync('/proc/stat', 'utf8'))[1]);
  const ticks = Number(readFileSync('/proc/' + process.ppid + '/stat', 'utf8').split(') ')[1].split(' ')[19]);
  const runnerStarted = btime * 1000 + ticks * 10;
  const listened = Number(readFileSync('listening.txt', 'utf8'));
  t.ok(runnerStarted < listened, 'runner ' + runnerStarted + ', service listening ' + listened);
  t.ok(Date.now() >= listened, 'the test runs after');
  const res = await fetch(process.env.REALSTACK_WEB_URL);
  t.same(await res.json(), { ok: true }, 'the stack answers at the URL the test was given');
});
`,
      },
      testRunId('tapahead'),
    );
    const res = await realstack(['test', '--retries', '0']);
    t.equal(res.exitCode, 0, `${res.stdout}\n${res.stderr}`);
    t.equal(res.stdout.trim().split('\n').at(-1), '1 passed, 0 failed');

    writeFileSync(path.join(dir, 'slow.cjs'), 'process.exit(3);\n');
    const failed = await realstack(['test', '--retries', '0']);
    t.equal(failed.exitCode, 1, 'the stack did not come up');
    t.match(failed.stderr, /web-1.*exit(ed)? .*3/);
    t.notOk(hasStackTrace(failed.stderr));
    let left = processesIn(dir);
    for (let i = 0; i < 20 && left.length > 0; i++) {
      await new Promise((r) => setTimeout(r, 100));
      left = processesIn(dir);
    }
    t.same(left, [], 'no tap runner (nor anything else) is left in the project');
  },
);
