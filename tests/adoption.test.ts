// realstack on a stack it was not written for, installed as a user installs it: `npm pack`, the
// tarball installed into a copy of examples/notes outside this repository (so nothing resolves
// to this checkout's node_modules), `npx realstack init`, then the example's own tests and its
// coverage. It runs in the suite's docker pass, as most users run their stack (tests/serial/chaos/notes.test.ts
// runs the same example on the process engine); a developer's own run uses the engine it has.
// It runs beside other files: its stacks, run ids and project are its own, and the pack leaves
// this checkout's dist/ alone. Its name sorts first, so tap starts the suite's longest file first.
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t, { type Test } from 'tap';
import { hasStackTrace, root, run, testRunId } from './helpers/cli.js';
import { dockerPassOnly } from './helpers/engines.js';
import { leftovers, processPids, readState } from './helpers/leftovers.js';

const skip = dockerPassOnly();

const engine = process.env.REALSTACK_ENGINE === 'docker' ? 'docker' : 'process';
const work = mkdtempSync(path.join(os.tmpdir(), 'realstack-adoption-'));
const project = path.join(work, 'notes');
t.teardown(() => rmSync(work, { recursive: true, force: true }));

/** The environment of a user's shell: none of this suite's run, tap's or npm's variables. */
const userEnv = (extra: Record<string, string> = {}) => {
  const env: Record<string, string | undefined> = {};
  for (const [k, v] of Object.entries(process.env))
    if (!/^(REALSTACK_|TAP|npm_|NODE_OPTIONS$|INIT_CWD$)/.test(k)) env[k] = v;
  return { ...env, ...extra };
};
const inProject = (command: string, args: string[], extra: Record<string, string> = {}) =>
  run(command, args, { cwd: project, env: userEnv(extra), extendEnv: false });
const realstack = (args: string[], extra: Record<string, string> = {}) =>
  inProject('npx', ['--no-install', 'realstack', ...args], { REALSTACK_ENGINE: engine, ...extra });
const hash = (file: string) =>
  createHash('sha256')
    .update(readFileSync(path.join(project, file)))
    .digest('hex');

let tarball = '';

t.test('npm pack gives a tarball with what the CLI needs at run time, and no more', { skip }, async (t) => {
  // Without `prepare`: the suite's host build has just built dist/ from these sources, and a
  // second tsc rewriting it would pull modules from under the tests running beside this one.
  const pack = await run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', work], {
    cwd: root,
    env: userEnv(),
  });
  t.equal(pack.exitCode, 0, pack.all);
  const [info] = JSON.parse(pack.stdout.slice(pack.stdout.indexOf('['))) as {
    filename: string;
    files: { path: string }[];
  }[];
  tarball = path.join(work, info?.filename as string);
  const files = info?.files.map((f) => f.path) ?? [];
  for (const needed of [
    'bin/realstack.js',
    'dist/src/cli/main.js',
    'dist/src/engine/runner.js',
    'dist/src/index.d.ts',
    'coverage-spy/index.cjs',
    'images/node/Dockerfile',
    'images/postgres/docker-entrypoint.sh',
    'docs/adopting.md',
  ])
    t.ok(files.includes(needed), needed);
  t.notOk(
    files.some((f) => /^(services|tests|examples|bench|dist\/services)\//.test(f)),
    'no reference stack, tests or examples',
  );
  const stale = files.filter(
    (f) =>
      f.endsWith('.js') &&
      f.startsWith('dist/') &&
      !existsSync(path.join(root, f.slice(5).replace(/\.js$/, '.ts'))),
  );
  t.same(stale, [], 'no module whose source is gone');
});

t.test('installed from the tarball into a project of its own', { skip }, async (t) => {
  cpSync(path.join(root, 'examples', 'notes'), project, {
    recursive: true,
    filter: (src) => !/node_modules|\/coverage|\.realstack/.test(src),
  });
  const install = await inProject('npm', [
    'install',
    '--no-audit',
    '--no-fund',
    '--prefer-offline',
    '-D',
    tarball,
  ]);
  t.equal(install.exitCode, 0, install.all);
  const where = await inProject(process.execPath, [
    '-e',
    "console.log(require.resolve('realstack/package.json'))",
  ]);
  t.equal(
    where.stdout.trim(),
    path.join(project, 'node_modules', 'realstack', 'package.json'),
    'realstack is the installed one',
  );
  const help = await realstack(['--help']);
  t.equal(help.exitCode, 0);
  t.match(help.stdout, /usage: realstack <command>/);
});

t.test(
  'init writes what the project needs, says what it inferred, and overwrites nothing',
  { skip },
  async (t) => {
    const compose = hash('docker-compose.yml');
    const init = await realstack(['init']);
    t.equal(init.exitCode, 0, init.all);
    for (const file of ['realstack.json', 'justfile', '.taprc', '.gitignore', 'test/realstack.test.mjs'])
      t.ok(existsSync(path.join(project, file)), `wrote ${file}`);
    t.match(init.stderr, 'web: health path /health (its sources name it)');
    t.match(init.stderr, /web: entry src\/server\.js .*src\/migrate\.js before it is a helper/);
    t.match(init.stderr, /db: container_name notes-db is dropped/);
    t.match(
      init.stderr,
      /db: to let `npx realstack cleanup` delete rows your tests leave, add .*"sqlCleanup"/,
    );
    const config = JSON.parse(readFileSync(path.join(project, 'realstack.json'), 'utf8'));
    t.same(config.services.web, {
      role: 'node',
      sourceRoot: '/usr/src/app=.',
      entry: ['src/server.js'],
      healthPath: '/health',
    });
    t.same(config.services.worker, { role: 'node', sourceRoot: '/usr/src/app=.', entry: ['src/worker.js'] });
    t.equal(hash('docker-compose.yml'), compose, 'the compose file is not edited');

    const before = hash('realstack.json');
    const again = await realstack(['init']);
    t.equal(again.exitCode, 0);
    t.match(again.stderr, /kept \(they exist; --force overwrites them\):\n\s+realstack\.json/);
    t.equal(hash('realstack.json'), before, 'not overwritten');
    t.notMatch(
      readFileSync(path.join(project, '.gitignore'), 'utf8'),
      /\.realstack\/[\s\S]*\.realstack\//,
      'lines added once',
    );

    // What init's to-do says, as a user would do it: the table whose rows tests name TEST....
    config.services.db.sqlCleanup = [{ table: 'notes', column: 'title' }];
    writeFileSync(path.join(project, 'realstack.json'), `${JSON.stringify(config, null, 2)}\n`);
  },
);

t.test(`${engine}: test-coverage measures the example's own files, without gaps`, { skip }, async (t) => {
  const id = testRunId('adc');
  const res = await realstack(['test-coverage'], { REALSTACK_RUN_ID: id });
  t.equal(res.exitCode, 0, res.stderr);
  t.match(res.stdout, /^6 passed, 0 failed$/m);
  t.notMatch(res.stderr, /coverage gap/, 'no gap: the worker thread belongs to its process');
  t.match(res.stderr, 'coverage: web-1: left out 1 helper process (not its entry): src/migrate.js');
  t.match(
    res.stderr,
    /worker-1: exit 143\n/,
    'the worker without a SIGTERM handler, stopped by the spy with a flush',
  );
  const summary = JSON.parse(
    readFileSync(path.join(project, 'coverage', 'all', 'coverage-summary.json'), 'utf8'),
  );
  const pct = (file: string) => summary[path.join(project, 'src', file)]?.lines.pct as number | undefined;
  for (const file of ['server.js', 'worker.js', 'db.js', 'count-worker.js'])
    t.ok((pct(file) ?? 0) > 50, `src/${file}: ${pct(file)}% of its lines`);
  t.equal(pct('migrate.js'), undefined, 'the helper is not in the report');
  t.ok(existsSync(path.join(project, 'coverage', 'web', 'index.html')), 'per service html');
  t.same(await leftovers(id, [], project), []);
});

t.test(
  `${engine}: the example's own tests pass on its stack; cleanup finds a test row by SQL, deletes it, and says what it did not look at; nothing is left`,
  { skip },
  async (t) => {
    const id = testRunId('adt');
    const env = { REALSTACK_RUN_ID: id };
    t.teardown(() => realstack(['down'], env));
    // One docker stack for both: `test` runs on the stack `up` started (a stack costs seconds).
    const up = await realstack(['up'], env);
    t.equal(up.exitCode, 0, up.stderr);
    t.match(up.stderr, /web: port 8080:8080 is published on an ephemeral port of 127\.0\.0\.1/);
    const res = await realstack(['test'], env);
    t.equal(res.exitCode, 0, res.stderr);
    t.match(res.stdout, /^6 passed, 0 failed$/m, 'the closing line');
    // tap's default plugins give every test process its TypeScript loader; this project shows no
    // TypeScript, so only a TypeScript test file's process gets it. Each file checks its own.
    const loaded = (want: boolean) => `import t from 'tap';
t.test('the TypeScript loader', async (t) => {
  t.equal(process.execArgv.some((a) => /@tapjs[\\/]typescript[\\/]/.test(a)), ${want}, process.execArgv.join(' '));
});
`;
    writeFileSync(path.join(project, 'test', 'js-loader.test.mjs'), loaded(false));
    writeFileSync(
      path.join(project, 'test', 'ts-loader.test.ts'),
      `const typed: number = 1;\n${loaded(true)}`,
    );
    const loaders = await realstack(['test', 'test/js-loader.test.mjs', 'test/ts-loader.test.ts'], env);
    for (const file of ['js-loader.test.mjs', 'ts-loader.test.ts']) rmSync(path.join(project, 'test', file));
    t.equal(loaders.exitCode, 0, loaders.stdout);
    t.match(loaders.stdout, /^2 passed, 0 failed$/m);
    const pids = processPids(readState(id, project));
    const ps = JSON.parse((await realstack(['ps', '--json'], env)).stdout) as {
      services: { name: string; url: string }[];
    };
    const web = ps.services.find((s) => s.name === 'web')?.url as string;
    const created = await fetch(`${web}/notes`, {
      method: 'POST',
      body: JSON.stringify({ title: 'TEST left behind', body: 'by a test that crashed' }),
    });
    t.equal(created.status, 201);
    const show = await realstack(['cleanup', '--show', '--json'], env);
    t.equal(show.exitCode, 0, show.stderr);
    const data = JSON.parse(show.stdout) as {
      testData: { service: string; via: string; records: Record<string, unknown[]> }[];
    };
    t.same(
      data.testData.map((d) => [d.service, d.via, Object.values(d.records).flat().length]),
      [
        ['db', 'sql', 1],
        ['web', 'none', 0],
        ['worker', 'none', 0],
      ],
    );
    const clean = await realstack(['cleanup'], env);
    t.equal(clean.exitCode, 0, clean.stderr);
    t.match(clean.stderr, 'removed from db: 1 notes');
    t.match(clean.stderr, '0 test records left in 1 services looked at');
    t.match(clean.stderr, /web: not looked at: realstack\.json declares no test-data API/);
    t.notOk(hasStackTrace(clean.stderr));
    t.equal((await realstack(['down'], env)).exitCode, 0);
    t.same(
      await leftovers(id, pids, project),
      [],
      'no container, network, volume, process, temp dir or state',
    );
  },
);

/** The project as a git repository, as a user's is: the impact map records its commit. */
async function commitProject(t: Test) {
  writeFileSync(
    path.join(project, '.gitignore'),
    `node_modules/\n${readFileSync(path.join(project, '.gitignore'), 'utf8')}`,
  );
  const git = (args: string[]) =>
    inProject('git', ['-c', 'user.name=realstack', '-c', 'user.email=realstack@localhost', ...args]);
  for (const args of [
    ['init', '-q'],
    ['add', '-A'],
    ['commit', '-qm', 'the notes example'],
  ])
    t.equal((await git(args)).exitCode, 0, `git ${args[0]}`);
}

const edit = (file: string, from: string, to: string) => {
  const text = readFileSync(path.join(project, file), 'utf8');
  if (!text.includes(from)) throw new Error(`${file} has no ${from}`);
  writeFileSync(path.join(project, file), text.replace(from, to));
};

t.test(
  `${engine}: per-test recording, then the tests a change needs, and who ran a line`,
  { skip },
  async (t) => {
    await commitProject(t);
    const refused = await realstack(['test-coverage', '--per-test', '--jobs', '2']);
    t.equal(refused.exitCode, 2);
    t.match(refused.stderr, /--per-test records one test file at a time: with --jobs 2, .*blur/);

    const id = testRunId('adi');
    const rec = await realstack(['test-coverage', '--per-test'], { REALSTACK_RUN_ID: id });
    t.equal(rec.exitCode, 0, rec.stderr);
    t.match(rec.stdout, /^6 passed, 0 failed$/m);
    t.match(
      rec.stderr,
      /impact map: 3 test files over \d+ service files, in \.realstack\/impact-map\.json \(\d/,
    );
    t.notMatch(rec.stderr, /coverage gap|did not slice in time/);
    t.same(await leftovers(id, [], project), []);

    const html = readFileSync(path.join(project, 'coverage', 'who', 'src__server.js.html'), 'utf8');
    t.match(
      html,
      /<td class="n">51<\/td>.*<summary>1 test<\/summary>test\/notes\.test\.mjs/,
      'the html says who ran line 51',
    );
    const who = await realstack(['coverage', 'who', 'src/server.js:51']);
    t.equal(who.exitCode, 0, who.stderr);
    t.equal(who.stdout, 'test/notes.test.mjs', "only the notes tests ran the title's check");

    const none = await realstack(['impact']);
    t.equal(none.exitCode, 0, none.stderr);
    t.match(none.stderr, 'selected 0 of 3 test files');

    // A planted fault: the title's bound off by one. Only the notes tests ran that line.
    edit('src/server.js', 'note.title.length > 16', 'note.title.length > 17');
    const analysis = await realstack(['impact']);
    t.match(analysis.stderr, /src\/server\.js: lines 51…: 1 test ran the changed lines/);
    t.match(
      analysis.stderr,
      /selected 1 of 3 test files, \d+% of the suite's recorded time:\n\s+test\/notes\.test\.mjs\s+ran src\/server\.js:51, changed/,
    );
    const selective = await realstack(['test-impact', '--brief'], { REALSTACK_RUN_ID: testRunId('ads') });
    t.equal(selective.exitCode, 1, 'the selected tests catch the fault');
    t.match(selective.stderr, 'running 1 test files, skipping 2 of 3');
    t.match(selective.stdout, /^3 passed, 1 failed$/m);
    t.match(selective.stdout, /not ok .* a title longer than the column is refused with 400/);

    // Diff coverage of the change, with a gate the uncovered half misses.
    edit('src/server.js', '    return undefined;\n', '    return null;\n');
    const config = JSON.parse(readFileSync(path.join(project, 'realstack.json'), 'utf8'));
    config.coverage.diff = { lines: 90 };
    writeFileSync(path.join(project, 'realstack.json'), `${JSON.stringify(config, null, 2)}\n`);
    const diff = await realstack(['coverage', 'diff', '--base', 'HEAD']);
    t.equal(diff.exitCode, 1, diff.all);
    t.match(diff.stdout, 'diff coverage since HEAD: 1 of 2 changed lines run (50%)');
    t.match(diff.stdout, 'src/server.js: 1/2, not run: 34');
    t.match(diff.stdout, 'coverage gate: diff lines 50% < 90%');
    t.match(
      readFileSync(path.join(project, 'coverage', 'diff.md'), 'utf8'),
      '| `src/server.js` | 1/2 | 34 |',
    );

    const everything = await realstack(['impact']);
    t.match(
      everything.stderr,
      /every test runs \(3 files\):\n\s+realstack\.json or the compose file changed since the map was recorded/,
    );
    t.notOk(hasStackTrace(everything.stderr + diff.stderr + selective.stderr));
    await inProject('git', ['checkout', '-q', '.']);
  },
);
