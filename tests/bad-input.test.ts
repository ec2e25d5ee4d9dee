import { existsSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import t from 'tap';
import { exitedZero, hasStackTrace, realstack, root, run, testRunId } from './helpers/cli.js';
import { processPassOnly } from './helpers/engines.js';
import { leftovers, processPids, readState } from './helpers/leftovers.js';

const skip = processPassOnly();

t.test(
  'REALSTACK_ENGINE=docker without a daemon says where it looked and what to do',
  { skip },
  async (t) => {
    const res = await realstack(['up'], {
      REALSTACK_ENGINE: 'docker',
      DOCKER_HOST: 'unix:///nonexistent/docker.sock',
    });
    t.equal(res.exitCode, 1);
    t.match(
      res.stderr,
      'REALSTACK_ENGINE=docker, but no Docker daemon answers at unix:///nonexistent/docker.sock',
    );
    t.match(res.stderr, 'REALSTACK_ENGINE=process');
    t.notOk(hasStackTrace(res.stderr));
    const flag = await realstack(['up', '--engine', 'docker'], {
      DOCKER_HOST: 'unix:///nonexistent/docker.sock',
    });
    t.equal(flag.exitCode, 1);
    t.match(flag.stderr, '--engine docker, but no Docker daemon answers', 'named as the user asked for it');
  },
);

t.test('an unknown engine name lists the engines', { skip }, async (t) => {
  const res = await realstack(['ps'], { REALSTACK_ENGINE: 'kubernetes' });
  t.equal(res.exitCode, 1);
  t.match(
    res.stderr,
    'REALSTACK_ENGINE=kubernetes (or --engine kubernetes) is not an engine; use one of auto, docker, process, external.',
  );
  const flag = await realstack(['ps', '--engine', 'kubernetes']);
  t.equal(flag.exitCode, 1);
  t.match(flag.stderr, 'REALSTACK_ENGINE=kubernetes (or --engine kubernetes) is not an engine');
});

t.test('--engine chooses the engine of one command, over REALSTACK_ENGINE', { skip }, async (t) => {
  for (const args of [
    ['config', '--engine', 'process'],
    ['config', '--engine=process'],
  ]) {
    const res = await realstack(args, { REALSTACK_ENGINE: 'external' });
    t.equal(res.exitCode, 0, res.stderr);
    t.match(res.stdout, /^engine: +process$/m, args.join(' '));
  }
  const none = await realstack(['ps', '--engine']);
  t.equal(none.exitCode, 2);
  t.match(none.stderr, '--engine needs a name: --engine docker (or process, external, auto).');
});

t.test(
  'a compose file that does not parse is named with its line, and nothing starts',
  { skip },
  async (t) => {
    const id = testRunId('yml');
    const res = await realstack(['up'], {
      REALSTACK_RUN_ID: id,
      REALSTACK_COMPOSE_FILES: 'tests/fixtures/broken-compose.yml',
    });
    t.equal(res.exitCode, 1);
    t.match(res.stderr, /broken-compose\.yml:4:\d+: the compose file does not parse/);
    t.notOk(hasStackTrace(res.stderr));
    t.same(await leftovers(id), []);
  },
);

t.test('commands on no running stack say how to start one', { skip }, async (t) => {
  const res = await realstack(['ps'], { REALSTACK_RUN_ID: 'nosuchrun' });
  t.equal(res.exitCode, 1);
  t.match(res.stderr, 'no run "nosuchrun" is known');
});

t.test(
  'a run id compose could not name a project after is refused before anything starts',
  { skip },
  async (t) => {
    // Compose v1 lowercased `MyRun`'s project: its containers went unseen, and `up` waited two minutes.
    for (const [id, like] of [
      ['MyRun', 'myrun'],
      ['../elsewhere', 'elsewhere'],
      ['run one', 'run-one'],
    ] as const) {
      const res = await realstack(['up'], { REALSTACK_ENGINE: 'process', REALSTACK_RUN_ID: id });
      t.equal(res.exitCode, 1, id);
      t.match(res.stderr, `REALSTACK_RUN_ID="${id}" cannot name a run`);
      t.match(res.stderr, `Use ${like}, for example`);
      t.notOk(hasStackTrace(res.stderr), 'no stack trace');
      t.notOk(existsSync(path.join(root, '.realstack', 'runs', id)), 'no state of it kept');
    }
    const ok = await realstack(['ps'], { REALSTACK_RUN_ID: 'a-run_2' });
    t.match(ok.stderr, 'no run "a-run_2" is known', 'lowercase letters, digits, - and _ pass');
  },
);

t.test('bad arguments get usage errors, not stack traces', { skip }, async (t) => {
  const scale = await realstack(['up', '--scale', 'api'], { REALSTACK_ENGINE: 'process' });
  t.equal(scale.exitCode, 2);
  t.match(scale.stderr, '--scale api: write SERVICE=N');
  const unknownScale = await realstack(['up', '--scale', 'web=2'], {
    REALSTACK_ENGINE: 'process',
    REALSTACK_RUN_ID: testRunId('sc'),
  });
  t.equal(unknownScale.exitCode, 1);
  t.match(
    unknownScale.stderr,
    '--scale names "web", which is not a service; the services are postgres, auth, api.',
  );
  const command = await realstack(['launch']);
  t.equal(command.exitCode, 2);
  t.match(command.stderr, 'unknown command "launch"');
  const option = await realstack(['up', '--engin', 'docker']);
  t.equal(option.exitCode, 2);
  t.match(
    option.stderr,
    'realstack up: unknown option --engin; its options are --scale, --coverage, --profile, and every command takes --engine',
  );
  const none = await realstack(['down', '--force']);
  t.equal(none.exitCode, 2);
  t.match(none.stderr, 'realstack down: unknown option --force; it takes none');
  for (const r of [scale, unknownScale, command, option, none]) t.notOk(hasStackTrace(r.stderr));
});

for (const command of ['test', 'test-coverage']) {
  t.test(
    `process engine: Ctrl-C during \`realstack ${command}\` leaves no process and no temp dir`,
    { skip },
    async (t) => {
      const id = testRunId('int');
      const marker = path.join(os.tmpdir(), `realstack-marker-${id}`);
      const coverageDir = path.join(os.tmpdir(), `realstack-intcov-${id}`);
      t.teardown(() => {
        rmSync(marker, { force: true });
        rmSync(coverageDir, { recursive: true, force: true });
      });
      const child = run(process.execPath, ['bin/realstack.js', command, 'tests/fixtures/waits.fixture.ts'], {
        cwd: root,
        env: {
          REALSTACK_ENGINE: 'process',
          REALSTACK_RUN_ID: id,
          REALSTACK_TEST_MARKER: marker,
          REALSTACK_COVERAGE_DIR: coverageDir,
        },
      });
      for (let i = 0; i < 600 && !existsSync(marker); i++) await sleep(100);
      t.ok(existsSync(marker), 'the test file is running');
      const pids = processPids(readState(id));
      t.ok(pids.length >= 6, 'postgres, auth and api run, each under a runner');
      child.kill('SIGINT');
      const res = await child;
      t.equal(res.exitCode, 130, 'exit status 130, as for any Ctrl-C');
      t.same(await leftovers(id, pids), [], 'no process, temp dir or state left');
    },
  );
}

t.test('bad input to scale and restart is named, with what to do', { skip }, async (t) => {
  const env = { REALSTACK_ENGINE: 'process', REALSTACK_RUN_ID: testRunId('lifebad') };
  const cli = (...args: string[]) => realstack(args, env);
  const none = await cli('scale', 'api=2');
  t.equal(none.exitCode, 1);
  t.match(none.stderr, `no run "${env.REALSTACK_RUN_ID}" is known`);
  exitedZero(t, await cli('up'), 'up');
  t.teardown(() => cli('down'));
  const cases: [string[], number, string | RegExp][] = [
    [['scale'], 2, 'realstack scale SERVICE=N'],
    [['scale', 'api'], 2, 'scale api: write SERVICE=N with N at least 1'],
    [['scale', 'api=0'], 2, 'scale api=0: write SERVICE=N with N at least 1'],
    [['scale', 'web=2'], 2, 'there is no service "web" in run'],
    [['scale', 'postgres=2'], 2, 'postgres is a PostgreSQL server: realstack runs each data store once'],
    [['scale', 'auth=2'], 2, /auth publishes one known port \(its public URL, \w+\), so it runs once/],
    [['scale', 'api=2', '--rate', 'lots'], 2, '--rate lots: give requests per second, a whole number'],
    [['scale', 'api=2', '--load', 'health'], 2, '--load health: give the path to request, starting with /'],
    [['scale', 'api=2', '--load', '/nope'], 2, /GET \/nope answered 404 on api-1 before any change/],
    [['scale', 'api=2', '--profile', 'nope'], 2, 'there is no perf profile "nope" in realstack.json'],
    [['scale', 'api=2', '--profile', 'auth-metadata'], 2, 'perf profile "auth-metadata" loads auth, not api'],
    [['restart'], 2, 'realstack restart SERVICE [--rolling]: name one service'],
    [['restart', 'api', 'auth'], 2, 'name one service'],
  ];
  for (const [args, code, message] of cases) {
    const res = await cli(...args);
    t.equal(res.exitCode, code, args.join(' '));
    t.match(res.stderr, message, args.join(' '));
    t.notOk(hasStackTrace(res.stderr), `${args.join(' ')}: no stack trace`);
  }
  t.same(
    (await cli('ps', '--json')).stdout.match(/"api-\d+"/g),
    ['"api-1"'],
    'nothing was changed by a refused command',
  );
});
