import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t, { type Test } from 'tap';
import { Agent, request } from 'undici';
import { describeProcesses, readHarvest } from '../src/coverage/collect.js';
import { openSliceDir, readSlices, SliceChannel, STARTUP } from '../src/spy/slices.js';
import { root, run } from './helpers/cli.js';
import { tempProject } from './helpers/project.js';

const spy = path.join(root, 'coverage-spy', 'index.cjs');
const app = path.join(root, 'tests', 'fixtures', 'spy-app.cjs');

interface Started {
  child: ReturnType<typeof run>;
  port: number;
  dir: string;
}

/** The fixture app as a real process with the spy preloaded, writing coverage into a temp dir. */
async function start(t: Test, env: Record<string, string>, coverage = true): Promise<Started> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'realstack-spy-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const vars: Record<string, string> = {
    NODE_OPTIONS: `--require ${spy}`,
    ...(coverage ? { NODE_V8_COVERAGE: path.join(dir, 'cov') } : {}),
    ...env,
  };
  const { NODE_OPTIONS, ...rest } = vars;
  const child = run(process.execPath, [app], {
    nodeOptions: NODE_OPTIONS,
    env: { PATH: process.env.PATH ?? '', ...rest },
    extendEnv: false,
  });
  const port = await new Promise<number>((resolve) => {
    child.stdout?.on('data', (d: Buffer) => {
      const m = /listening (\d+)/.exec(d.toString());
      if (m) resolve(Number(m[1]));
    });
  });
  return { child, port, dir };
}

const files = (dir: string, prefix: string) => {
  try {
    return readdirSync(dir)
      .filter((f) => f.startsWith(prefix))
      .sort();
  } catch {
    return [];
  }
};
const json = (file: string) => JSON.parse(readFileSync(file, 'utf8'));

/** How often V8 counted the function `name` of the app in one dump. */
function calls(dumpFile: string, name: string): number {
  const script = json(dumpFile).result.find((s: { url: string }) => s.url.endsWith('spy-app.cjs'));
  const fn = script?.functions.find((f: { functionName: string }) => f.functionName === name);
  return fn ? fn.ranges[0].count : 0;
}

const get = (port: number, p: string, dispatcher?: Agent): Promise<string> =>
  request(`http://127.0.0.1:${port}${p}`, dispatcher ? { dispatcher } : {}).then((r) => r.body.text());

t.test(
  'SIGTERM to a service without its own handler: the spy exits as the signal would, with a dump',
  async (t) => {
    const s = await start(t, {});
    await get(s.port, '/a');
    s.child.kill('SIGTERM');
    const res = await s.child;
    t.equal(res.exitCode, 143, 'exit status of a SIGTERM, 128 + 15');
    const cov = path.join(s.dir, 'cov');
    const dumps = files(cov, 'coverage-');
    t.equal(dumps.length, 1, 'one dump');
    t.equal(calls(path.join(cov, dumps[0] as string), 'routeA'), 1, 'routeA counted once');
    const meta = json(path.join(cov, files(cov, 'realstack-meta-')[0] as string));
    t.match(meta, { pid: s.child.pid, stop: { signal: 'SIGTERM', how: 'spy-exit', exitCode: 143 } });
    t.ok(
      meta.startedAt && meta.stop.stoppedAt && meta.sourceRoot && meta.host,
      'start, stop, source root and host recorded',
    );
  },
);

t.test(
  "SIGTERM to a service with its own handler: the service's shutdown runs and decides the exit",
  async (t) => {
    const s = await start(t, {
      OWN_HANDLER: '1',
      REALSTACK_SERVICE: 'fixture',
      REALSTACK_INSTANCE: 'fixture-1',
    });
    s.child.kill('SIGTERM');
    const res = await s.child;
    t.equal(res.exitCode, 0);
    const cov = path.join(s.dir, 'cov');
    t.equal(files(cov, 'coverage-').length, 1);
    t.match(json(path.join(cov, files(cov, 'realstack-meta-')[0] as string)), {
      service: 'fixture',
      instance: 'fixture-1',
      stop: { how: 'service-shutdown', exitCode: 0 },
    });
  },
);

t.test(
  'a connection holding the process open: the fallback timer still flushes before the grace period',
  async (t) => {
    const s = await start(t, { OWN_HANDLER: '1', REALSTACK_COVERAGE_FLUSH_MS: '500' });
    const agent = new Agent();
    t.teardown(() => agent.destroy());
    await get(s.port, '/b');
    // A request that never gets its answer: the service's server.close() waits for it.
    get(s.port, '/hang', agent).catch(() => {});
    await new Promise((r) => setTimeout(r, 100));
    const started = Date.now();
    s.child.kill('SIGTERM');
    const res = await s.child;
    t.equal(res.exitCode, 143, 'the spy ended it');
    t.ok(Date.now() - started < 10_000, 'well before a 10 s grace period');
    const cov = path.join(s.dir, 'cov');
    t.equal(
      calls(path.join(cov, files(cov, 'coverage-')[0] as string), 'routeB'),
      1,
      'routeB is in the dump',
    );
    t.match(json(path.join(cov, files(cov, 'realstack-meta-')[0] as string)), {
      stop: { how: 'fallback-timer' },
    });
  },
);

t.test(
  'with an entry: a process the service forks is the service; the same script started beside it is a helper',
  async (t) => {
    const entryEnv = {
      REALSTACK_ENTRY: 'spy-app.cjs',
      REALSTACK_SOURCE_ROOT: path.dirname(app),
      OWN_HANDLER: '1',
    };
    const s = await start(t, entryEnv);
    t.equal(await get(s.port, '/fork'), 'worker 0');
    s.child.kill('SIGTERM');
    t.equal((await s.child).exitCode, 0);
    const cov = path.join(s.dir, 'cov');
    const metas = files(cov, 'realstack-meta-').map((f) => json(path.join(cov, f)));
    t.match(
      metas
        .map(({ script, helper }) => ({ script, helper }))
        .sort((a, b) => a.script.localeCompare(b.script)),
      [
        { script: 'spy-app.cjs', helper: false },
        { script: 'spy-worker.cjs', helper: false },
      ],
    );
    const worker = metas.find((m) => m.script === 'spy-worker.cjs');
    const dump = files(cov, 'coverage-').find((f) => f.includes(`-${worker.pid}-`));
    const counted = json(path.join(cov, dump as string))
      .result.find((r: { url: string }) => r.url.endsWith('spy-worker.cjs'))
      ?.functions.find((f: { functionName: string }) => f.functionName === 'workerJob')?.ranges[0]?.count;
    t.equal(counted, 1, "the forked job's coverage is in its dump");

    // The same script run as a step before the server (`node job.js && node server.js`).
    const helperDir = path.join(s.dir, 'helper');
    const alone = await run(process.execPath, [path.join(path.dirname(app), 'spy-worker.cjs')], {
      nodeOptions: `--require ${spy}`,
      env: { PATH: process.env.PATH ?? '', NODE_V8_COVERAGE: helperDir, ...entryEnv },
      extendEnv: false,
    });
    t.equal(alone.exitCode, 0);
    t.match(json(path.join(helperDir, files(helperDir, 'realstack-meta-')[0] as string)), {
      script: 'spy-worker.cjs',
      helper: true,
    });
    // The harvester reads each folder as an instance's dumps (src/coverage/collect.ts).
    t.same(
      describeProcesses(readHarvest(s.dir)),
      [
        'cov: counted 1 process the service started itself: spy-worker.cjs',
        'helper: left out 1 helper process (not its entry): spy-worker.cjs',
      ],
      'what the coverage report says of them',
    );
  },
);

t.test(
  "a package's command given the entry: the service when it runs it in its own process (ts-node), a helper when it starts another (nodemon)",
  async (t) => {
    const dir = tempProject(t, {
      'src/job.cjs': 'function jobWork() {\n  return 42;\n}\nprocess.exitCode = jobWork() === 42 ? 0 : 1;\n',
      // As ts-node runs a script: compiled and required in its own process.
      'node_modules/.bin/inproc': "require(require('node:path').resolve(process.argv[2]));\n",
      // As nodemon or tsx run one: in a child process of its own.
      'node_modules/.bin/super':
        "const r = require('node:child_process').spawnSync(process.execPath, [process.argv[2]], { stdio: 'inherit' });\nprocess.exitCode = r.status;\n",
    });
    const runWith = async (bin: string) => {
      const cov = path.join(dir, bin);
      const res = await run(process.execPath, [`node_modules/.bin/${bin}`, 'src/job.cjs'], {
        cwd: dir,
        nodeOptions: `--require ${spy}`,
        env: {
          PATH: process.env.PATH ?? '',
          NODE_V8_COVERAGE: cov,
          REALSTACK_ENTRY: 'src/job.cjs',
          REALSTACK_SOURCE_ROOT: dir,
        },
        extendEnv: false,
      });
      t.equal(res.exitCode, 0, res.all);
      const metas = files(cov, 'realstack-meta-').map((f) => json(path.join(cov, f)));
      return { cov, metas: metas.map(({ script, helper }) => ({ script, helper })) };
    };

    const inproc = await runWith('inproc');
    t.same(inproc.metas, [{ script: path.join('node_modules', '.bin', 'inproc'), helper: false }]);
    const dump = files(inproc.cov, 'coverage-')[0] as string;
    t.equal(
      json(path.join(inproc.cov, dump))
        .result.find((r: { url: string }) => r.url.endsWith('src/job.cjs'))
        ?.functions.find((f: { functionName: string }) => f.functionName === 'jobWork')?.ranges[0]?.count,
      1,
      "the entry's coverage is in the dump of the process that ran it",
    );

    const sup = await runWith('super');
    t.same(
      sup.metas.sort((a, b) => a.script.localeCompare(b.script)),
      [
        { script: path.join('node_modules', '.bin', 'super'), helper: true },
        { script: path.join('src', 'job.cjs'), helper: false },
      ],
      'the supervisor never loaded the entry: a helper, and its child is the service',
    );
    t.same(
      describeProcesses(readHarvest(dir)).filter((l) => l.startsWith('super')),
      ['super: left out 1 helper process (not its entry): node_modules/.bin/super'],
    );
  },
);

t.test('the snapshot signal writes a dump while the service runs and resets the counters', async (t) => {
  const s = await start(t, {});
  const cov = path.join(s.dir, 'cov');
  for (let i = 0; i < 3; i++) await get(s.port, '/a');
  s.child.kill('SIGUSR2');
  for (let i = 0; i < 100 && files(cov, 'coverage-').length === 0; i++)
    await new Promise((r) => setTimeout(r, 50));
  t.equal(files(cov, 'coverage-').length, 1, 'a dump while running');
  t.equal(await get(s.port, '/a'), 'a', 'the service still answers');
  s.child.kill('SIGTERM');
  await s.child;
  const [first, last] = files(cov, 'coverage-');
  t.equal(
    calls(path.join(cov, first as string), 'routeA'),
    3,
    'the snapshot holds the three calls before it',
  );
  t.equal(calls(path.join(cov, last as string), 'routeA'), 1, 'the final dump only the one after it');
  t.equal(json(path.join(cov, files(cov, 'realstack-meta-')[0] as string)).snapshots.length, 1);
});

t.test('a failing spy never takes the service down: it says so once and the service runs on', async (t) => {
  const blocker = path.join(mkdtempSync(path.join(os.tmpdir(), 'realstack-spy-')), 'a-file');
  writeFileSync(blocker, '');
  t.teardown(() => rmSync(path.dirname(blocker), { recursive: true, force: true }));
  const s = await start(t, { OWN_HANDLER: '1', NODE_V8_COVERAGE: path.join(blocker, 'cov') });
  t.equal(await get(s.port, '/a'), 'a', 'the service answers');
  s.child.kill('SIGTERM');
  const res = await s.child;
  t.equal(res.exitCode, 0, 'and stops as it always does');
  t.equal(res.all.match(/\[coverage-spy\]/g)?.length, 1, 'one line from the spy');
  t.match(res.all, /\[coverage-spy\] .*ENOTDIR/);
});

t.test('without NODE_V8_COVERAGE the spy does nothing: SIGTERM keeps its default action', async (t) => {
  const s = await start(t, {}, false);
  s.child.kill('SIGTERM');
  const res = await s.child;
  t.equal(res.signal, 'SIGTERM', 'killed by the signal, as without the spy');
  t.same(readdirSync(s.dir), [], 'nothing written');
});

t.test(
  'per-test slices: each boundary slices what ran since the last, own scripts only, and the stop dump holds the rest',
  async (t) => {
    const slices = openSliceDir(path.join(mkdtempSync(path.join(os.tmpdir(), 'realstack-slices-')), 's'));
    t.teardown(() => rmSync(path.dirname(slices), { recursive: true, force: true }));
    const s = await start(t, {
      REALSTACK_SLICE_DIR: slices,
      REALSTACK_SOURCE_ROOT: path.dirname(app),
      OWN_HANDLER: '1',
    });
    const channel = new SliceChannel(slices);
    t.same(await channel.boundary(STARTUP), [], 'the process answered the first line');
    await get(s.port, '/a');
    await get(s.port, '/a');
    t.same(await channel.boundary('test/a.test.js'), []);
    await get(s.port, '/b');
    t.same(await channel.boundary('test/b.test.js'), []);
    await get(s.port, '/b');
    s.child.kill('SIGTERM');
    t.equal((await s.child).exitCode, 0);

    const taken = readSlices(slices);
    t.same(
      taken.map((sl) => sl.id),
      [STARTUP, 'test/a.test.js', 'test/b.test.js'],
      'one slice per line, tagged with the test it ends',
    );
    const count = (id: string, name: string) => {
      const script = taken.find((sl) => sl.id === id)?.result.find((r) => r.url.endsWith('spy-app.cjs')) as
        | { functions: { functionName: string; ranges: { count: number }[] }[] }
        | undefined;
      return script?.functions.find((f) => f.functionName === name)?.ranges[0]?.count ?? 0;
    };
    t.equal(count('test/a.test.js', 'routeA'), 2, "a's slice: routeA twice");
    t.equal(count('test/a.test.js', 'routeB'), 0, "a's slice: no routeB");
    t.equal(count('test/b.test.js', 'routeB'), 1, "b's slice: routeB once");
    t.ok(
      taken.every((sl) => sl.result.every((r) => r.url.includes(path.dirname(app)))),
      'nothing of node internals or node_modules in a slice',
    );
    const cov = path.join(s.dir, 'cov');
    t.equal(
      calls(path.join(cov, files(cov, 'coverage-')[0] as string), 'routeB'),
      1,
      'the stop dump: the last /b only',
    );
    const spy = JSON.parse(readFileSync(path.join(slices, files(slices, 'spy-')[0] as string), 'utf8'));
    t.match(spy, { pid: s.child.pid, lastSeq: 3, stoppedAt: String });
    t.same(await channel.boundary('after the stop'), [], 'a stopped process is not waited for');
  },
);
