import { rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import t from 'tap';
import { request } from 'undici';
import { freePort } from '../src/util/net.js';
import { hasStackTrace, realstack, run, testRunId } from './helpers/cli.js';
import { otherPass, passEngines } from './helpers/engines.js';
import { leftovers, processPids, readState } from './helpers/leftovers.js';
import { linkedProject, tinyCompose, tinyService } from './helpers/project.js';

interface PsJson {
  runId: string;
  services: { name: string; engine: string; url: string; health: string }[];
}

const engines = await passEngines();

for (const engine of engines) {
  t.test(`${engine}: up, healthy over HTTP, graceful stop, down leaves nothing`, async (t) => {
    const id = testRunId(engine.slice(0, 3));
    const env = { REALSTACK_ENGINE: engine, REALSTACK_RUN_ID: id };
    const up = await realstack(['up'], env);
    t.equal(up.exitCode, 0, 'up succeeds');
    t.match(up.all, `ready: run ${id} on the ${engine} engine`);

    const ps = JSON.parse((await realstack(['ps', '--json'], env)).stdout) as PsJson;
    t.equal(ps.runId, id);
    t.same(
      ps.services.map((s) => [s.name, s.engine, s.health]),
      [
        ['postgres', engine, 'healthy'],
        ['auth', engine, 'healthy'],
        ['api', engine, 'healthy'],
      ],
    );
    for (const svc of ps.services.filter((s) => s.name !== 'postgres')) {
      t.match(svc.url, /^http:\/\/127\.0\.0\.1:\d+$/, `${svc.name} is published on 127.0.0.1 only`);
      const res = await request(`${svc.url}/health`);
      t.equal(res.statusCode, 200, `${svc.name} answers over HTTP`);
      await res.body.dump();
    }

    const logs = await realstack(['logs', '--tail', '5', 'auth'], env);
    t.equal(logs.exitCode, 0);
    t.match(logs.stdout, /^auth-1 \| /m, 'log lines are prefixed with the instance');
    const unknown = await realstack(['logs', 'nope'], env);
    t.equal(unknown.exitCode, 2);
    t.match(unknown.stderr, 'there is no service "nope"; the services are postgres, auth, api.');

    const pids = processPids(readState(id));
    const down = await realstack(['down'], env);
    t.equal(down.exitCode, 0, 'down succeeds');
    for (const name of ['auth-1', 'api-1', 'postgres-1']) {
      t.match(
        down.stderr,
        new RegExp(`${name}: exit 0\\n`),
        `${name} stopped gracefully with exit 0 (never 137)`,
      );
    }
    t.same(await leftovers(id, pids), [], 'nothing of the run is left');
  });

  // The process engine chooses every port itself; docker's come from the daemon, once per container.
  t.test(
    `${engine}: two stacks at once get their own ports`,
    { skip: engine === 'docker' && otherPass('process') },
    async (t) => {
      const ids = [testRunId(`${engine.slice(0, 3)}a`), testRunId(`${engine.slice(0, 3)}b`)];
      const envs = ids.map((id) => ({ REALSTACK_ENGINE: engine, REALSTACK_RUN_ID: id }));
      const ups = await Promise.all(envs.map((env) => realstack(['up'], env)));
      // Whatever fails below, neither stack outlives the test (down is safe to repeat).
      t.teardown(() => Promise.all(envs.map((env) => realstack(['down'], env))));
      t.same(
        ups.map((u) => u.exitCode),
        [0, 0],
        `both come up\n${ups.map((u) => u.stderr).join('\n')}`,
      );
      const urls = await Promise.all(
        envs.map(async (env) =>
          (JSON.parse((await realstack(['ps', '--json'], env)).stdout) as PsJson).services.map((s) => s.url),
        ),
      );
      const all = urls.flat();
      t.equal(new Set(all).size, all.length, 'no URL is shared');
      const pids = ids.flatMap((id) => processPids(readState(id)));
      const downs = await Promise.all(envs.map((env) => realstack(['down'], env)));
      t.same(
        downs.map((d) => d.exitCode),
        [0, 0],
        downs.map((d) => d.stderr).join('\n'),
      );
      for (const id of ids) t.same(await leftovers(id, pids), [], `nothing of ${id} is left`);
    },
  );

  // Without REALSTACK_RUN_ID, as a user types it: commands act on the current run.
  t.test(
    `${engine}: up twice, down once: the stack up kept first is current again, and down finds it`,
    { skip: engine === 'docker' && otherPass('process') },
    async (t) => {
      const { dir, realstack: inProject } = linkedProject(
        t,
        { 'docker-compose.yml': tinyCompose, 'server.cjs': tinyService() },
        testRunId('cur'),
      );
      const env = { REALSTACK_ENGINE: engine, REALSTACK_RUN_ID: '' };
      const ids: string[] = [];
      t.teardown(() => Promise.all(ids.map((id) => inProject(['down'], { ...env, REALSTACK_RUN_ID: id }))));
      for (const n of [1, 2]) {
        const up = await inProject(['up'], env);
        t.equal(up.exitCode, 0, up.stderr);
        ids.push(/ready: run (\S+)/.exec(up.stderr)?.[1] as string);
        t.ok(ids[n - 1], `up ${n} names its run`);
      }
      const [first, second] = ids as [string, string];
      const ps = async () => (JSON.parse((await inProject(['ps', '--json'], env)).stdout) as PsJson).runId;
      t.equal(await ps(), second, 'the newer stack is current');
      t.equal((await inProject(['down'], env)).exitCode, 0);
      t.equal(await ps(), first, 'with it gone, the one still kept is current again');
      t.equal((await inProject(['down'], env)).exitCode, 0);
      const none = await inProject(['ps'], env);
      t.match(none.stderr, 'no stack is running here');
      for (const id of ids) t.same(await leftovers(id, [], dir), [], `nothing of ${id} is left`);
    },
  );

  t.test(
    `${engine}: a service that exits at start fails readiness at once, with its exit code and logs`,
    async (t) => {
      const id = testRunId(`${engine.slice(0, 3)}x`);
      const up = await realstack(['up'], {
        REALSTACK_ENGINE: engine,
        REALSTACK_RUN_ID: id,
        REALSTACK_COMPOSE_FILES: 'docker-compose.yml,tests/fixtures/auth-exits.yml',
      });
      t.equal(up.exitCode, 1);
      t.match(up.stderr, 'auth-1 exited with code 78 while starting');
      t.match(
        up.stderr,
        /last \d+ log lines of auth-1:\n[\s\S]*SHUTDOWN_TIMEOUT_MS="soon" must be a positive whole number/,
      );
      t.notOk(hasStackTrace(up.stderr), 'no stack trace');
      t.same(await leftovers(id), [], 'the half-started stack was taken down');
    },
  );

  // depends_on as compose means it, with a health check Docker would first run in an hour: the
  // start waits for the check itself, not for Docker's interval (src/engine/start-order.ts).
  t.test(
    `${engine}: depends_on: a migration completes, a service is healthy, then what waits starts`,
    async (t) => {
      const node = (script: string, extra: string) => `    image: node:20
    working_dir: /app
    volumes: [".:/app"]
    command: ["node", "${script}"]
${extra}`;
      const compose = `services:
  migrate:
${node('migrate.cjs', '')}
  web:
${node(
  'web.cjs',
  `    environment: { PORT: "8080" }
    ports: ["8080"]
    depends_on: { migrate: { condition: service_completed_successfully } }
    healthcheck:
      test: ["CMD", "node", "-e", "fetch('http://127.0.0.1:8080').then(r => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
      interval: 1h
`,
)}
  front:
${node(
  'front.cjs',
  `    environment: { PORT: "8081", WEB_URL: "http://web:8080" }
    ports: ["8081"]
    depends_on: { web: { condition: service_healthy }, migrate: { condition: service_started } }
`,
)}`;
      // front also waits for migrate to be started: a one-shot that has done its work and exited
      // is started, as compose has it, and is not a failure of readiness.
      const migrate = (code: number) => `setTimeout(() => {
  if (${code}) { console.log('the schema is broken'); process.exit(${code}); }
  require('node:fs').writeFileSync('migrated.txt', 'schema v2');
}, 1000);
`;
      // Each refuses to start without what it depends on: a start out of order fails the test.
      const web = `const body = require('node:fs').readFileSync('migrated.txt', 'utf8');
require('node:http').createServer((q, s) => s.end(body)).listen(Number(process.env.PORT));
process.on('SIGTERM', () => process.exit(0));
`;
      const front = `fetch(process.env.WEB_URL).then((r) => r.text()).then((seen) => {
  require('node:http').createServer((q, s) => s.end('web said: ' + seen)).listen(Number(process.env.PORT));
}, () => process.exit(2));
process.on('SIGTERM', () => process.exit(0));
`;
      const id = testRunId(`${engine.slice(0, 3)}d`);
      const env = { REALSTACK_ENGINE: engine, REALSTACK_READY_TIMEOUT_MS: '60000' };
      const { dir, realstack: inProject } = linkedProject(
        t,
        { 'docker-compose.yml': compose, 'migrate.cjs': migrate(0), 'web.cjs': web, 'front.cjs': front },
        id,
      );
      t.teardown(() => inProject(['down'], env));
      const up = await inProject(['up'], env);
      t.equal(up.exitCode, 0, up.stderr);
      const ps = JSON.parse((await inProject(['ps', '--json'], env)).stdout) as PsJson;
      const url = ps.services.find((s) => s.name === 'front')?.url as string;
      const res = await request(url);
      t.equal(
        await res.body.text(),
        'web said: schema v2',
        'front started after web, web after the migration',
      );
      t.equal((await inProject(['down'], env)).exitCode, 0);
      t.same(await leftovers(id, [], dir), [], 'nothing of the run is left');

      // A migration that fails: what waits for it never starts, and the user reads why.
      rmSync(path.join(dir, 'migrated.txt'));
      writeFileSync(path.join(dir, 'migrate.cjs'), migrate(3));
      const failed = await inProject(['up'], env);
      t.equal(failed.exitCode, 1);
      t.match(failed.stderr, 'web waits for migrate to complete, but migrate-1 exited with code 3');
      t.match(failed.stderr, /last \d+ log lines of migrate-1:\n.*the schema is broken/);
      t.notOk(hasStackTrace(failed.stderr), 'no stack trace');
      t.same(await leftovers(id, [], dir), [], 'the half-started stack was taken down');
    },
  );

  t.test(`${engine}: a host port already taken is named, and nothing is left`, async (t) => {
    const port = await freePort();
    const blocker = net.createServer().listen(port, '127.0.0.1');
    t.teardown(() => blocker.close());
    const id = testRunId(`${engine.slice(0, 3)}p`);
    const up = await realstack(['up'], {
      REALSTACK_ENGINE: engine,
      REALSTACK_RUN_ID: id,
      // PostgreSQL's: nothing waits before it, so docker's compose fails at once (auth's would
      // first wait for a healthy database).
      POSTGRES_PORT: String(port),
    });
    t.equal(up.exitCode, 1);
    t.match(up.stderr, new RegExp(`port (127\\.0\\.0\\.1:)?${port}( on 127\\.0\\.0\\.1)? .*already taken`));
    t.match(up.stderr, /unset/);
    t.notOk(hasStackTrace(up.stderr), 'no stack trace');
    t.same(await leftovers(id), [], 'nothing of the run is left');
  });
}

t.test(
  'docker engine: an image build that fails names the step',
  { skip: !engines.includes('docker') && otherPass('docker') },
  async (t) => {
    // The failed RUN step's container (classic builder), named by its command.
    const failedSteps = async () =>
      (await run('docker', ['ps', '-a', '--no-trunc', '--format', '{{.Command}}'])).stdout
        .split('\n')
        .filter((c) => c.includes('simulated build failure')).length;
    const before = await failedSteps();
    const res = await realstack(['images'], {
      REALSTACK_COMPOSE_FILES: 'docker-compose.yml,tests/fixtures/failing-build.yml',
    });
    t.equal(res.exitCode, 1);
    t.match(
      res.stderr,
      /image build failed at step "build realstack-[a-z0-9-]+\/auth:local \(service auth, tests\/fixtures\/failing\.Dockerfile\)"/,
    );
    t.match(res.stderr, 'simulated build failure');
    t.notOk(hasStackTrace(res.stderr), 'no stack trace');
    t.equal(await failedSteps(), before, 'the failed step left no container behind');
  },
);

// Docker runs a container's first health check one interval after its start, and this daemon
// (20.10) has no start_interval; realstack runs the service's own check itself once the
// service answers (src/engine/health-now.ts).
t.test(
  'docker engine: a health check with an hour between runs: ready when the check passes, not when the port answers, and again after a pause',
  { skip: !engines.includes('docker') && otherPass('docker') },
  async (t) => {
    const compose = (check: string) => `services:
  web:
    image: node:20
    working_dir: /app
    volumes: [".:/app"]
    command: ["node", "server.cjs"]
    ports: ["8080"]
    healthcheck:
      test: ["CMD-SHELL", "${check}"]
      interval: 1h
`;
    // It answers at once and writes its "ready" file a moment later.
    const server = `require('node:http').createServer((q, s) => s.end('{}')).listen(8080);
setTimeout(() => require('node:fs').writeFileSync('/tmp/ready', ''), 1500);
process.on('SIGTERM', () => process.exit(0));
`;
    const id = testRunId('dhc');
    const env = { REALSTACK_ENGINE: 'docker', REALSTACK_READY_TIMEOUT_MS: '30000' };
    const { dir, realstack: inProject } = linkedProject(
      t,
      { 'docker-compose.yml': compose('test -f /tmp/ready'), 'server.cjs': server },
      id,
    );
    t.teardown(() => inProject(['down'], env));
    const up = await inProject(['up'], env);
    t.equal(up.exitCode, 0, up.stderr);
    const name = (
      await run('docker', ['ps', '-q', '--filter', `label=dev.realstack.run=${id}`])
    ).stdout.trim();
    const inspect = JSON.parse((await run('docker', ['inspect', name])).stdout) as {
      State: { Health: { Status: string; Log: unknown[] | null } };
    }[];
    t.same(
      [inspect[0]?.State.Health.Status, inspect[0]?.State.Health.Log ?? []],
      ['starting', []],
      'Docker has not run the check yet',
    );
    t.equal(
      (await run('docker', ['exec', name, 'test', '-f', '/tmp/ready'])).exitCode,
      0,
      'the check passes',
    );
    const ps = JSON.parse((await inProject(['ps', '--json'], env)).stdout) as PsJson;
    t.same(
      ps.services.map((s) => [s.name, s.health]),
      [['web', 'healthy']],
    );
    // A pause stops Docker's check and marks the container unhealthy, with no check failed,
    // until the check's next interval (here an hour) after the unpause: realstack asks the check.
    await run('docker', ['pause', name]);
    await run('docker', ['unpause', name]);
    const status = (await run('docker', ['inspect', '-f', '{{.State.Health.Status}}', name])).stdout.trim();
    t.equal(status, 'unhealthy', 'Docker says unhealthy after the pause');
    const again = JSON.parse((await inProject(['ps', '--json'], env)).stdout) as PsJson;
    t.same(
      again.services.map((s) => [s.name, s.health]),
      [['web', 'healthy']],
      'healthy again at once: the check passes',
    );
    t.equal((await inProject(['down'], env)).exitCode, 0);
    t.same(await leftovers(id, [], dir), [], 'nothing of the run is left');

    // A check that never passes keeps the service starting, however well its port answers.
    writeFileSync(path.join(dir, 'docker-compose.yml'), compose('test -f /tmp/never'));
    const never = await inProject(['up'], { ...env, REALSTACK_READY_TIMEOUT_MS: '6000' });
    t.equal(never.exitCode, 1);
    t.match(never.stderr, /web-1 not healthy after 6000 ms \(waiting for: web-1 starting\)/);
    t.notOk(hasStackTrace(never.stderr), 'no stack trace');
    t.same(await leftovers(id, [], dir), [], 'the stack that never got ready was taken down');
  },
);
