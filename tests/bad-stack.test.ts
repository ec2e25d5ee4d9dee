// Stacks realstack cannot run as they are: each is named at once, with what to do, and nothing
// of the attempt is left behind.

import { once } from 'node:events';
import { existsSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import path from 'node:path';
import t from 'tap';
import { freePort } from '../src/util/net.js';
import { hasStackTrace, root, run, testRunId } from './helpers/cli.js';
import { processPassOnly } from './helpers/engines.js';
import { leftovers } from './helpers/leftovers.js';
import { tempProject } from './helpers/project.js';

const up = (dir: string, env: Record<string, string> = {}) =>
  run(
    process.execPath,
    [path.join(root, 'bin/realstack.js'), 'up', ...(env.ARGS ? env.ARGS.split(' ') : [])],
    {
      cwd: dir,
      env: {
        PATH: process.env.PATH,
        HOME: process.env.HOME,
        REALSTACK_ENGINE: 'process',
        REALSTACK_RUN_ID: testRunId('bad'),
        ...env,
      },
      extendEnv: false,
    },
  );

const runsLeft = (dir: string) =>
  existsSync(path.join(dir, '.realstack', 'runs')) ? readdirSync(path.join(dir, '.realstack', 'runs')) : [];

t.test('the process engine names a service it cannot run, before anything starts', async (t) => {
  const dir = tempProject(t, {
    'docker-compose.yml': `services:
  queue:
    image: rabbitmq:3
  web:
    image: node:22
    working_dir: /app
    volumes: [".:/app"]
    command: node server.js
`,
  });
  const res = await up(dir);
  t.equal(res.exitCode, 1);
  t.match(
    res.stderr,
    'the process engine cannot run service "queue" (image rabbitmq:3): it runs Node services, PostgreSQL and Redis only',
  );
  t.match(res.stderr, /Use the docker engine/);
  t.notOk(hasStackTrace(res.stderr));
  t.same(runsLeft(dir), [], 'no run state left');
});

t.test(
  'Redis on the process engine: without redis-server here, or with a command it cannot take',
  async (t) => {
    const dir = tempProject(t, { 'docker-compose.yml': 'services:\n  cache:\n    image: redis:7-alpine\n' });
    // A PATH with node and env (which runs the CLI here) alone: no redis-server.
    const bin = tempProject(t, {});
    symlinkSync(process.execPath, path.join(bin, 'node'));
    symlinkSync('/usr/bin/env', path.join(bin, 'env'));
    const bare = await up(dir, { PATH: bin });
    t.equal(bare.exitCode, 1, bare.all);
    t.match(
      bare.stderr,
      'the process engine runs service "cache" (image redis:7-alpine) with this machine\'s redis-server, and there is none on the PATH. Install it (`apt-get install redis-server`',
    );
    t.notOk(hasStackTrace(bare.stderr));
    t.same(runsLeft(dir), [], 'no run state left');

    writeFileSync(
      path.join(dir, 'docker-compose.yml'),
      'services:\n  cache:\n    image: redis:7\n    command: ["sh", "-c", "redis-server --requirepass \\"$$REDIS_PASSWORD\\""]\n',
    );
    const shell = await up(dir);
    t.equal(shell.exitCode, 1, shell.all);
    t.match(
      shell.stderr,
      /cannot start service "cache": its command \(sh -c redis-server .*\) does not run redis-server/,
    );
    t.notOk(hasStackTrace(shell.stderr));
  },
);

t.test('a Node service whose command the process engine cannot know', async (t) => {
  const dir = tempProject(t, {
    'docker-compose.yml':
      'services:\n  web:\n    image: node:22\n    working_dir: /app\n    volumes: [".:/app"]\n',
  });
  const res = await up(dir);
  t.equal(res.exitCode, 1);
  t.match(
    res.stderr,
    /cannot run service "web": neither its compose entry nor its Dockerfile gives a command; set "command" in realstack\.json/,
  );
  t.notOk(hasStackTrace(res.stderr));
});

t.test("a container path written in a service's code: named, with where the file is here", async (t) => {
  const dir = tempProject(t, {
    'docker-compose.yml': `services:
  web:
    image: node:20
    working_dir: /app
    volumes: [".:/app", "./conf:/etc/web"]
    command: ["node", "server.js"]
    ports: ["8080"]
    secrets: [api_token]
secrets:
  api_token:
    file: ./token.txt
`,
    'token.txt': 'x\n',
    'conf/web.json': '{}\n',
    // What the container has at those paths; this machine has them elsewhere.
    'server.js': "require('node:fs').readFileSync(process.env.READS);\n",
  });
  for (const [reads, host] of [
    ['/run/secrets/api_token', path.join(dir, 'token.txt')],
    ['/etc/web/web.json', path.join(dir, 'conf', 'web.json')],
  ] as const) {
    writeFileSync(path.join(dir, 'server.js'), `require('node:fs').readFileSync('${reads}');\n`);
    const res = await up(dir);
    t.equal(res.exitCode, 1, res.all);
    const said = res.stderr.split('\nlast ')[0] as string;
    t.match(
      said,
      `web-1 exited with code 1 while starting; it looked for ${reads}, a path in its container: on the process engine every service runs on this machine, where that file is ${host}.`,
    );
    t.match(said, `: ${reads}\` in the compose file), or run it on the docker engine`, 'with what to do');
    t.notOk(hasStackTrace(said), "realstack's own words carry no stack trace");
    t.same(runsLeft(dir), [], 'no run state left');
  }
  for (const [reads, why] of [
    ['/nowhere/known', 'a path the container has no file for'],
    ['/etc/web/other.json', 'a file its mount does not hold, here either'],
  ]) {
    writeFileSync(path.join(dir, 'server.js'), `require('node:fs').readFileSync('${reads}');\n`);
    const other = await up(dir);
    t.match(other.stderr, 'web-1 exited with code 1 while starting\nlast', `${why} is not explained`);
  }
});

t.test(
  'a health path that answers, but not 2xx: named with what it said, and a peer its code names',
  async (t) => {
    // On the process engine realstack's probe is the service's readiness: "keeps failing" alone
    // would not say that the service answered, nor what. This one's code reaches its database by
    // the compose name, which resolves nowhere here, and its /health says only "down".
    const dir = tempProject(t, {
      'docker-compose.yml': `services:
  store:
    image: node:20
    working_dir: /app
    volumes: [".:/app"]
    command: ["node", "store.js"]
    ports: ["7000"]
  web:
    image: node:20
    working_dir: /app
    volumes: [".:/app"]
    command: ["node", "server.js"]
    ports: ["8080"]
`,
      'realstack.json': JSON.stringify({ services: { web: { healthPath: '/health' } } }),
      'store.js': "require('node:net').createServer((c) => c.end()).listen(Number(process.env.PORT));\n",
      'server.js': `const net = require('node:net');
require('node:http').createServer((req, res) => {
  const c = net.connect(7000, 'store', () => { c.end(); res.end('{}'); });
  c.on('error', () => { res.statusCode = 503; res.end('{\\n  "database": "down"\\n}'); });
}).listen(Number(process.env.PORT));
`,
    });
    const res = await up(dir);
    t.equal(res.exitCode, 1, res.all);
    t.match(
      res.stderr,
      'web-1 is unhealthy: GET /health answers 503 ({ "database": "down" }), and realstack waits for a 2xx (its healthPath in realstack.json). ' +
        "Its code names store (server.js), a peer's compose name, which resolves nowhere on this machine",
    );
    t.match(
      res.stderr,
      'Take its address from the environment (STORE_HOST: store in the compose file, and STORE_PORT',
    );
    t.notOk(hasStackTrace(res.stderr), 'no stack trace');
    t.same(runsLeft(dir), [], 'no run state left');
  },
);

t.test(
  'a port written in the code that another process of this machine holds: named, with what to do',
  async (t) => {
    const port = await freePort();
    const holder = createServer().listen(port, '0.0.0.0');
    await once(holder, 'listening');
    t.teardown(() => holder.close());
    const dir = tempProject(t, {
      'docker-compose.yml': `services:\n  web:\n    image: node:20\n    working_dir: /app\n    volumes: [".:/app"]\n    command: ["node", "server.js"]\n    ports: ["${port}:${port}"]\n`,
      'server.js': `require('node:http').createServer((req, res) => res.end()).listen(${port});\n`,
    });
    const res = await up(dir);
    t.equal(res.exitCode, 1, res.all);
    const said = res.stderr.split('\nlast ')[0] as string;
    t.match(
      said,
      new RegExp(
        `web-1 exited with code 1 while starting; it could not listen on port ${port}: another process of this machine has it\\. .*realstack gave it port \\d+ in PORT\\. Make it listen on process\\.env\\.PORT \\(\`listen\\(process\\.env\\.PORT \\?\\? ${port}\\)\`\\), or run it on the docker engine`,
      ),
    );
    t.notOk(hasStackTrace(said), "realstack's own words carry no stack trace");
    t.same(runsLeft(dir), [], 'no run state left');
  },
);

t.test("a build.target that names no stage of the service's Dockerfile", async (t) => {
  const dir = tempProject(t, {
    'docker-compose.yml': 'services:\n  worker:\n    build:\n      context: .\n      target: wrker\n',
    Dockerfile: 'FROM node:20 AS base\nFROM base AS worker\nCMD ["node", "worker.js"]\n',
  });
  const res = await up(dir);
  t.equal(res.exitCode, 1);
  t.match(
    res.stderr,
    /service "worker": build\.target "wrker" names no stage of .*Dockerfile \(its stages: base, worker\): name one of them in the compose file\./,
  );
  t.notOk(hasStackTrace(res.stderr));
  t.same(runsLeft(dir), [], 'no run state left');
});

t.test('a variable the compose file requires (:? in its braces), unset', async (t) => {
  const dir = tempProject(t, {
    'docker-compose.yml': `services:\n  db:\n    image: postgres:16\n    environment:\n      POSTGRES_PASSWORD: \${DB_PASSWORD:?see .env.example}\n`,
  });
  const res = await up(dir);
  t.equal(res.exitCode, 1);
  t.match(
    res.stderr,
    `docker-compose.yml, services.db.environment.POSTGRES_PASSWORD: \${DB_PASSWORD:?see .env.example} needs DB_PASSWORD, which is not set ("see .env.example"): set it in the environment or in the project's .env`,
  );
  t.notOk(hasStackTrace(res.stderr));
  t.same(runsLeft(dir), [], 'no run state left');
});

t.test('--profile starts a profile that the stack needs, and only then', async (t) => {
  const dir = tempProject(t, {
    'docker-compose.yml': `services:
  db:
    image: postgres:16
    profiles: [data]
    environment: { POSTGRES_PASSWORD: pw }
`,
  });
  const none = await up(dir);
  t.equal(none.exitCode, 1);
  t.match(
    none.stderr,
    'no service of the stack is active: every one has a profile (data). Set COMPOSE_PROFILES=data',
  );
  const id = testRunId('prof');
  const env = { REALSTACK_RUN_ID: id };
  const started = await up(dir, { ...env, ARGS: '--profile data' });
  t.teardown(() =>
    run(process.execPath, [path.join(root, 'bin/realstack.js'), 'down'], {
      cwd: dir,
      env: { PATH: process.env.PATH, REALSTACK_RUN_ID: id },
      extendEnv: false,
    }),
  );
  t.equal(started.exitCode, 0, started.stderr);
  t.match(
    started.stdout,
    /db-1\s+running\s+healthy\s+postgres:\/\/postgres:\*\*\*@127\.0\.0\.1:\d+\/postgres/,
  );
});

// On the process engine every service runs on this machine, each on the port realstack gives it
// in PORT; one that fixes its own port cannot be moved, and waiting for the ready timeout would
// only hide why (src/engine/listening-ports.ts).
t.test(
  'process engine: a service that listens on a port of its own choosing is named at once, with the port',
  { skip: processPassOnly() },
  async (t) => {
    const fixed = await freePort();
    const dir = tempProject(t, {
      'docker-compose.yml': `services:
  web:
    image: node:20
    working_dir: /app
    volumes: [".:/app"]
    command: ["node", "server.cjs"]
    ports: ["8080:8080"]
`,
      'server.cjs': `require('node:http').createServer((q, s) => s.end('{}')).listen(${fixed});\n`,
    });
    const id = testRunId('port');
    const res = await up(dir, { REALSTACK_RUN_ID: id });
    t.equal(res.exitCode, 1);
    t.match(
      res.stderr,
      new RegExp(`web-1 listens on port ${fixed}, not on \\d+, the port realstack gave it in PORT`),
    );
    t.match(res.stderr, 'Make it listen on process.env.PORT (`listen(process.env.PORT ?? 8080)`)');
    t.notOk(hasStackTrace(res.stderr), 'no stack trace');
    t.same(await leftovers(id, [], dir), [], 'nothing of the run is left');

    // A service waiting for it to be healthy hears the same, not the ready timeout two minutes on.
    writeFileSync(
      path.join(dir, 'docker-compose.yml'),
      `services:
  web:
    image: node:20
    working_dir: /app
    volumes: [".:/app"]
    command: ["node", "server.cjs"]
    expose: ["8080"]
    healthcheck:
      test: ["CMD", "node", "-e", "fetch('http://localhost:8080').then(()=>process.exit(0),()=>process.exit(1))"]
  gateway:
    image: node:20
    working_dir: /app
    volumes: [".:/app"]
    command: ["node", "server.cjs"]
    depends_on:
      web:
        condition: service_healthy
`,
    );
    const waited = await up(dir, { REALSTACK_RUN_ID: id });
    t.equal(waited.exitCode, 1);
    t.match(
      waited.stderr,
      new RegExp(
        `gateway waits for web to be healthy, but web-1 listens on port ${fixed}, not on \\d+, the port realstack gave it in PORT`,
      ),
    );
    t.notOk(hasStackTrace(waited.stderr), 'no stack trace');
    t.same(await leftovers(id, [], dir), [], 'nothing of the run is left');
  },
);
