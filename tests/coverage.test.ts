import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t, { type Test } from 'tap';
import { request } from 'undici';
import { loadToolkitConfig } from '../src/config/toolkit.js';
import { readImagesState } from '../src/images/state.js';
import { exitedZero, hasStackTrace, realstack, root, run as runProgram, testRunId } from './helpers/cli.js';
import { otherPass, passEngines } from './helpers/engines.js';
import { instanceOf, readState } from './helpers/leftovers.js';

const engines = await passEngines();
const docker = (args: string[]) => runProgram('docker', args);
const onProcess = { skip: !engines.includes('process') && otherPass('process') };

interface FileCoverage {
  path: string;
  statementMap: Record<string, { start: { line: number } }>;
  s: Record<string, number>;
}

/** A coverage run of its own: run id, coverage folder, no gates, and the CLI bound to them. */
function coverageRun(t: Test, engine: string, label: string) {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'realstack-cov-'));
  const env = {
    REALSTACK_ENGINE: engine,
    REALSTACK_RUN_ID: testRunId(label),
    REALSTACK_COVERAGE_DIR: dir,
    // The project's own gates judge the whole suite; these tests judge gaps (and gates of their own).
    REALSTACK_COVERAGE_CONFIG: path.join(dir, 'no-gates.json'),
  };
  t.teardown(async () => {
    await realstack(['down'], env);
    rmSync(dir, { recursive: true, force: true });
  });
  const cli = (...args: string[]) => realstack(args, env);
  // `up --coverage`: the stack with the spy, as test-coverage starts it.
  return { dir, env, cli, up: (...args: string[]) => cli('up', '--coverage', ...args) };
}

async function urls(
  cli: (...args: string[]) => ReturnType<typeof realstack>,
  service: string,
): Promise<string[]> {
  const ps = JSON.parse((await cli('ps', '--json')).stdout) as {
    services: { name: string; instances: { url: string }[] }[];
  };
  return ps.services.find((s) => s.name === service)?.instances.map((i) => i.url) ?? [];
}

async function hit(url: string, times: number): Promise<void> {
  for (let i = 0; i < times; i++) await (await request(`${url}/health`)).body.dump();
}

/** Hits per line of a TypeScript file in a coverage-final.json: the largest statement count there. */
function lineHits(finalJson: string, fileSuffix: string, line: number): number {
  const map = JSON.parse(readFileSync(finalJson, 'utf8')) as Record<string, FileCoverage>;
  const file = Object.values(map).find((f) => f.path.endsWith(fileSuffix));
  if (!file) throw new Error(`${fileSuffix} is not in ${finalJson}`);
  const counts = Object.entries(file.statementMap)
    .filter(([, loc]) => loc.start.line === line)
    .map(([id]) => file.s[id] ?? 0);
  if (counts.length === 0) throw new Error(`no statement starts on line ${line} of ${fileSuffix}`);
  return Math.max(...counts);
}

/** The line numbers in services/kit/src/service.ts of /health's two outcomes. */
function healthLines(): { ok: number; unavailable: number } {
  const lines = readFileSync(path.join(root, 'services/kit/src/service.ts'), 'utf8').split('\n');
  const ok = lines.findIndex((l) => l.includes("return { status: 'ok'")) + 1;
  // The statement `return reply.code(503)...` starts on the line that says `return reply`.
  const unavailable = lines.findIndex((l, i) => i > ok && l.trim().startsWith('return reply')) + 1;
  if (ok === 0 || unavailable === 0) throw new Error('the /health route changed: update this test');
  return { ok, unavailable };
}

t.test(
  'process: the branch a test takes is covered, the one it does not is not, on the TypeScript lines',
  onProcess,
  async (t) => {
    const run = coverageRun(t, 'process', 'cov');
    exitedZero(t, await run.up(), 'up with the coverage spy');
    const [auth] = await urls(run.cli, 'auth');
    await hit(auth as string, 3);
    const snapshot = await run.cli('coverage', 'snapshot');
    t.equal(snapshot.exitCode, 0);
    t.match(snapshot.stderr, 'SIGUSR2 sent to auth-1, api-1');
    await new Promise((r) => setTimeout(r, 500));
    await hit(auth as string, 2);
    const harvest = await run.cli('coverage', 'harvest');
    t.equal(harvest.exitCode, 0);
    t.match(harvest.stderr, /harvested the coverage of 2 instrumented instances/);
    const dumps = readdirSync(path.join(run.dir, 'raw', 'auth-1')).filter((f) => f.startsWith('coverage-'));
    t.equal(dumps.length, 2, 'the snapshot and the final dump');
    const report = await run.cli('coverage', 'report');
    t.equal(report.exitCode, 0, 'no gaps');
    t.match(report.stderr, /coverage of auth .*\n[\s\S]*service\.ts/);
    const finalJson = path.join(run.dir, 'all', 'coverage-final.json');
    const { ok, unavailable } = healthLines();
    t.ok(
      lineHits(finalJson, 'services/kit/src/service.ts', ok) >= 5,
      `line ${ok} (200 branch) counted for the 5 requests, before and after the snapshot`,
    );
    t.equal(
      lineHits(finalJson, 'services/kit/src/service.ts', unavailable),
      0,
      `line ${unavailable} (503 branch) never ran`,
    );
    for (const kind of ['lcov.info', 'coverage-summary.json', 'cobertura-coverage.xml', 'index.html']) {
      t.ok(existsSync(path.join(run.dir, 'all', kind)), `all/${kind}`);
      t.ok(existsSync(path.join(run.dir, 'auth', kind)), `auth/${kind}`);
    }

    const first = readFileSync(finalJson, 'utf8');
    t.equal((await run.cli('coverage', 'report')).exitCode, 0);
    t.equal(readFileSync(finalJson, 'utf8'), first, 'a second report of the same dumps is the same');

    const config = path.join(run.dir, 'gates.json');
    writeFileSync(
      config,
      JSON.stringify({ global: { lines: 10 }, files: { 'services/kit/src/service.ts': { lines: 100 } } }),
    );
    const check = await realstack(['coverage', 'check'], { ...run.env, REALSTACK_COVERAGE_CONFIG: config });
    t.equal(check.exitCode, 1, 'an unmet gate fails');
    t.match(
      check.stderr,
      /coverage gate: services\/kit\/src\/service\.ts lines [\d.]+% < 100%; uncovered lines /,
    );
    t.match(check.stderr, new RegExp(`uncovered lines .*\\b${unavailable}\\b`), 'the 503 line is named');
    t.notMatch(check.stderr, /all services lines/, 'the global gate is met');

    writeFileSync(config, JSON.stringify({ global: { lines: 180 } }));
    const bad = await realstack(['coverage', 'check'], { ...run.env, REALSTACK_COVERAGE_CONFIG: config });
    t.equal(bad.exitCode, 1);
    t.match(bad.stderr, 'gates.json: global.lines must be a percentage from 0 to 100');
    t.notOk(hasStackTrace(bad.stderr));
  },
);

t.test(
  'process: a service killed with SIGKILL is named as missing, and the report fails',
  onProcess,
  async (t) => {
    const run = coverageRun(t, 'process', 'kill');
    exitedZero(t, await run.up(), 'up');
    const api = instanceOf(readState(run.env.REALSTACK_RUN_ID), 'api-1');
    process.kill(api?.pid as number, 'SIGKILL');
    await new Promise((r) => setTimeout(r, 300));
    t.equal((await run.cli('coverage', 'harvest')).exitCode, 0);
    const report = await run.cli('coverage', 'report');
    t.equal(report.exitCode, 1, 'a missing dump fails the run');
    t.match(report.stderr, /coverage gap: api-1 exited 137: it was killed .*Raise stop_grace_period/);
    t.match(report.stderr, /coverage gap: api-1 wrote no coverage dump/);
    t.notMatch(report.stderr, /coverage gap: auth/, 'auth is fine');
  },
);

t.test(
  'docker: two replicas of api are merged, and a restarted container keeps the dumps of both its processes',
  { skip: !engines.includes('docker') && otherPass('docker') },
  async (t) => {
    // One stack for both (a docker stack costs seconds): two replicas, then the first restarted.
    const run = coverageRun(t, 'docker', 'rep');
    exitedZero(t, await run.up('--scale', 'api=2'), 'up with two api replicas');
    const [first, second] = await urls(run.cli, 'api');
    await hit(first as string, 5);
    await hit(second as string, 7);
    const project = `realstack_${run.env.REALSTACK_RUN_ID}`;
    // Found by compose's labels: v1 and v2 name containers differently.
    const filters = [
      `label=com.docker.compose.project=${project}`,
      'label=com.docker.compose.service=api',
      'label=com.docker.compose.container-number=1',
    ];
    const id = (await docker(['ps', '-q', ...filters.flatMap((f) => ['--filter', f])])).stdout.trim();
    const restart = await docker(['restart', '-t', '30', id]);
    t.equal(restart.exitCode, 0, restart.all);
    t.equal((await run.cli('wait')).exitCode, 0, 'healthy again');
    const [after] = await urls(run.cli, 'api');
    await hit(after as string, 3);
    t.equal((await run.cli('coverage', 'harvest')).exitCode, 0);
    for (const instance of ['api-1', 'api-2', 'auth-1']) {
      const files = readdirSync(path.join(run.dir, 'raw', instance));
      t.ok(
        files.some((f) => f.startsWith('coverage-')),
        `${instance} flushed a dump`,
      );
    }
    const restarted = readdirSync(path.join(run.dir, 'raw', 'api-1'));
    t.equal(
      restarted.filter((f) => f.startsWith('realstack-meta-')).length,
      2,
      'the restarted container: two processes, one after the other',
    );
    t.ok(restarted.filter((f) => f.startsWith('coverage-')).length >= 2, 'each flushed its dump');
    t.equal((await run.cli('coverage', 'report')).exitCode, 0, 'no gaps');
    const { ok } = healthLines();
    const meta = (name: string) =>
      JSON.parse(
        readFileSync(
          path.join(
            run.dir,
            'raw',
            name,
            readdirSync(path.join(run.dir, 'raw', name)).find((f) =>
              f.startsWith('realstack-meta-'),
            ) as string,
          ),
          'utf8',
        ),
      );
    t.equal(meta('api-2').service, 'api');
    t.equal(meta('api-2').sourceRoot, '/app', 'the root as the container saw it');
    t.ok(
      lineHits(path.join(run.dir, 'api', 'coverage-final.json'), 'services/kit/src/service.ts', ok) >= 15,
      'both replicas and both lives of the first counted',
    );
  },
);

t.test(
  'docker: the spy as PID 1 flushes on `docker stop`, well inside the grace period',
  { skip: !engines.includes('docker') && otherPass('docker') },
  async (t) => {
    const image =
      readImagesState(loadToolkitConfig(root)).resolved['node:20-bookworm-slim'] ?? 'node:20-bookworm-slim';
    const dir = mkdtempSync(path.join(os.tmpdir(), 'realstack-pid1-'));
    const name = `realstack-pid1-${testRunId('p')}`;
    // Not labelled as a realstack run: it has no run state, and a `realstack cleanup` beside
    // this test (the installed example's) reaps such a container as a run whose `down` never
    // finished. The teardown removes it.
    t.teardown(async () => {
      await docker(['rm', '-f', name]);
      rmSync(dir, { recursive: true, force: true });
    });
    const run = await docker([
      'run',
      '-d',
      '--name',
      name,
      '-v',
      `${path.join(root, 'coverage-spy')}:/coverage-spy:ro`,
      '-v',
      `${dir}:/cov`,
      '-e',
      'NODE_OPTIONS=--require /coverage-spy/index.cjs',
      '-e',
      'NODE_V8_COVERAGE=/cov',
      image,
      'node',
      '-e',
      'setInterval(() => {}, 1000)',
    ]);
    t.equal(run.exitCode, 0, run.all);
    await new Promise((r) => setTimeout(r, 1000));
    t.equal((await docker(['stop', '-t', '20', name])).exitCode, 0);
    const exit = (await docker(['inspect', '-f', '{{.State.ExitCode}}', name])).stdout.trim();
    t.equal(exit, '143', 'ended by its SIGTERM through the spy, not killed (137)');
    const files = readdirSync(dir);
    t.ok(
      files.some((f) => /^coverage-1-\d+-\d+\.json$/.test(f)),
      'PID 1 wrote its dump',
    );
    const meta = JSON.parse(
      readFileSync(path.join(dir, files.find((f) => f.startsWith('realstack-meta-')) as string), 'utf8'),
    );
    t.match(meta, { pid: 1, stop: { signal: 'SIGTERM', how: 'spy-exit', exitCode: 143 } });
  },
);

t.test('process: test-coverage fails on an unmet gate even when every test passes', onProcess, async (t) => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'realstack-gate-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const config = path.join(dir, 'gates.json');
  writeFileSync(config, JSON.stringify({ global: { lines: 100 } }));
  const res = await realstack(['test-coverage', 'tests/stack.test.ts'], {
    REALSTACK_ENGINE: 'process',
    REALSTACK_RUN_ID: testRunId('gate'),
    REALSTACK_COVERAGE_DIR: path.join(dir, 'coverage'),
    REALSTACK_COVERAGE_CONFIG: config,
  });
  t.equal(res.exitCode, 1, 'the run fails');
  t.match(res.stderr, /coverage gate: all services lines [\d.]+% < 100%/);
  t.match(res.stdout, /^3 passed, 0 failed$/m, 'the tests themselves passed');
  t.ok(existsSync(path.join(dir, 'coverage', 'all', 'index.html')), 'the reports are written anyway');
});
