// The process engine's rewrites of a service's environment (src/engine/rewrite-env.ts): each
// rule of its doc comment, on values as compose files write them, and the names a service
// answers to (src/engine/process.ts peerNames).
import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { loadToolkitConfig } from '../src/config/toolkit.js';
import { shortTestName, testNamePattern } from '../src/conventions/test-names.js';
import { instrument, SPY_MOUNT } from '../src/coverage/instrument.js';
import { writeInlineFiles } from '../src/engine/inline-files.js';
import { containerPaths, hostCommand, processCommand, processEnvironment } from '../src/engine/process.js';
import { type Peer, peerNames, rewriteEnvironment } from '../src/engine/rewrite-env.js';
import { runFile } from '../src/engine/run-file.js';
import { projectStack } from '../src/stack/compose.js';
import { postgresSettings } from '../src/stack/postgres-settings.js';
import { tempProject } from './helpers/project.js';

const peer = (service: string, ports: [number, number][]): Peer => ({
  service,
  ports: new Map(ports.map(([c, h]) => [c, String(h)])),
  defaultPort: ports[0]?.[0] as number,
});
const db = peer('db', [[5432, 41000]]);
const api = peer('api', [[3000, 42000]]);
const cache = peer('cache', [[6379, 43000]]);
const names = new Map([
  ['db', db],
  ['notes-db', db],
  ['api', api],
  ['cache', cache],
]);
const web = peer('web', [
  [8080, 44000],
  [9090, 44001],
]);

t.test('1. URLs of any scheme whose host is a service', async (t) => {
  const { env } = rewriteEnvironment(
    {
      DATABASE_URL: 'postgres://u:p%40ss@db:5432/app?sslmode=disable',
      API: 'http://api:3000/v1',
      REDIS_URL: 'redis://cache',
      SEVERAL: 'http://api:3000 https://example.com',
      OTHER: 'http://example.com:3000',
    },
    names,
    web,
  );
  t.equal(env.DATABASE_URL, 'postgres://u:p%40ss@127.0.0.1:41000/app?sslmode=disable');
  t.equal(env.API, 'http://127.0.0.1:42000/v1');
  t.equal(env.REDIS_URL, 'redis://127.0.0.1:43000', "the scheme's default port");
  t.equal(env.SEVERAL, 'http://127.0.0.1:42000 https://example.com');
  t.equal(env.OTHER, 'http://example.com:3000', 'not a service: left alone');
});

t.test('2. service:port pairs', async (t) => {
  const { env } = rewriteEnvironment({ BROKERS: 'db:5432,cache:6379', ADDR: 'api:3000' }, names, web);
  t.equal(env.BROKERS, '127.0.0.1:41000,127.0.0.1:43000');
  t.equal(env.ADDR, '127.0.0.1:42000');
});

t.test('3 and 4. a host variable naming a service, and the port beside it', async (t) => {
  const { env, rewrites } = rewriteEnvironment(
    { DB_HOST: 'db', DB_PORT: '5432', PGHOST: 'notes-db', REDIS_HOST: 'cache', SERVICE_NAME: 'api' },
    names,
    web,
  );
  t.equal(env.DB_HOST, '127.0.0.1');
  t.equal(env.DB_PORT, '41000');
  t.equal(env.PGHOST, '127.0.0.1', 'a container name is a name too');
  t.equal(env.PGPORT, '41000', 'added: without it the service would use its default port');
  t.equal(env.REDIS_PORT, '43000');
  t.equal(env.SERVICE_NAME, 'api', 'not a host variable: left alone');
  t.ok(rewrites.some((r) => r.variable === 'PGPORT' && r.from === undefined));
});

t.test("5. the service's own ports", async (t) => {
  const { env } = rewriteEnvironment({ PORT: '8080', METRICS_PORT: '9090', TIMEOUT: '8080' }, names, web);
  t.equal(env.PORT, '44000');
  t.equal(env.METRICS_PORT, '44001');
  t.equal(env.TIMEOUT, '8080', 'only variables that name a port');
});

t.test('a port a service is not known to listen on is said, not guessed', async (t) => {
  const { env, unresolved } = rewriteEnvironment({ API: 'http://api:4000' }, names, web);
  t.equal(env.API, 'http://api:4000');
  t.match(unresolved, [/api has no port 4000 that realstack knows/]);
});

t.test("the names a service answers to: a network's aliases and a link's too", async (t) => {
  const dir = tempProject(t, {
    'docker-compose.yml': `services:
  backend:
    image: node:20
    hostname: be
    networks:
      internal:
        aliases: [api.internal]
      public:
  frontend:
    image: node:20
    networks: [internal]
    links: ["backend:legacy-api"]
    environment:
      BACKEND_URL: http://api.internal:4000/v1
      LEGACY: legacy-api:4000
      OWN: http://be:4000
networks:
  internal:
  public:
`,
  });
  const stack = projectStack(loadToolkitConfig(dir, { PATH: process.env.PATH }));
  const backend = peer('backend', [[4000, 45000]]);
  const known = peerNames(stack, new Map([['backend', backend]]));
  t.same([...known.keys()].sort(), ['api.internal', 'backend', 'be', 'legacy-api']);
  const { env } = rewriteEnvironment(
    stack.services.find((x) => x.name === 'frontend')?.environment ?? {},
    known,
    web,
  );
  t.equal(env.BACKEND_URL, 'http://127.0.0.1:45000/v1');
  t.equal(env.LEGACY, '127.0.0.1:45000');
  t.equal(env.OWN, 'http://127.0.0.1:45000');
});

t.test("a command's compose addresses too: a wait script's host:port, a URL in sh -c", async (t) => {
  const dir = tempProject(t, {
    'docker-compose.yml': `services:
  db:
    image: postgres:16
  web:
    image: node:20
    command: ["./wait-for-it.sh", "db:5432", "--strict", "--", "sh", "-c", "curl -fs http://db:5432/ ; exec node server.js --port 3000"]
`,
  });
  const stack = projectStack(loadToolkitConfig(dir, { PATH: process.env.PATH }));
  const svc = stack.services.find((x) => x.name === 'web') as NonNullable<(typeof stack.services)[0]>;
  const { command, rewrites } = processCommand(stack, svc, new Map([['db', db]]));
  t.same(command, [
    './wait-for-it.sh',
    '127.0.0.1:41000',
    '--strict',
    '--',
    'sh',
    '-c',
    'curl -fs http://127.0.0.1:41000/ ; exec node server.js --port 3000',
  ]);
  t.same(
    rewrites.map((r) => r.variable),
    ['command[1]', 'command[6]'],
  );
});

t.test('test names: the short form fits 16 characters and is found by run', async (t) => {
  const names16 = new Set(Array.from({ length: 500 }, () => shortTestName('mx1run')));
  t.equal(names16.size, 500, 'unique in a process');
  for (const n of names16) t.ok(n.length <= 16 && n.startsWith('TEST'), n);
  const mine = new RegExp(testNamePattern('mx1run'));
  const any = new RegExp(testNamePattern());
  const [one] = names16;
  t.match(one as string, mine);
  t.notMatch(shortTestName('otherrun'), mine, "another run's names are not this run's");
  t.match('TEST mx1run w2 a client', mine);
  t.match('TEST_mx1run_w2_user', mine);
  t.match('TEST someone w1 x', any);
  t.notMatch('TESTING Ltd', any, 'a real name that happens to start with TEST');
});

t.test("a secret's or config's file and a mount's paths: where this machine has them", async (t) => {
  const dir = tempProject(t, {
    'docker-compose.yml': `services:
  users:
    image: node:20
    working_dir: /srv
    volumes: [".:/srv", "./config:/etc/users:ro"]
    command: node index.js
    environment:
      DB_PASSWORD_FILE: /run/secrets/db_password
      API_KEY_FILE: /keys/api
      CONFIG: /etc/users/app.json
      OTHER: /run/secrets/db_password_old
      FLAGS: /flags.json
      RULES: /etc/rules/main.yml
    secrets:
      - db_password
      - source: api_key
        target: /keys/api
    configs:
      - flags.json
      - source: rules
        target: /etc/rules/main.yml
secrets:
  db_password:
    file: ./secrets/db_password.txt
  api_key:
    file: ./secrets/api_key.txt
configs:
  flags.json:
    file: ./flags.json
  rules:
    file: ./rules.yml
`,
  });
  const stack = projectStack(loadToolkitConfig(dir, { PATH: process.env.PATH }));
  const users = stack.services.find((x) => x.name === 'users');
  if (!users) throw new Error('no users service');
  const { env } = processEnvironment(stack, users, new Map(), undefined);
  t.equal(env.DB_PASSWORD_FILE, `${dir}/secrets/db_password.txt`, 'the short form: /run/secrets/<name>');
  t.equal(env.API_KEY_FILE, `${dir}/secrets/api_key.txt`, "the long form's target");
  t.equal(env.CONFIG, `${dir}/config/app.json`, 'a path under a bind mount');
  t.equal(env.OTHER, '/run/secrets/db_password_old', 'a path that only starts like one is left alone');
  t.equal(env.FLAGS, `${dir}/flags.json`, "a config's short form: /<name>");
  t.equal(env.RULES, `${dir}/rules.yml`, "a config's target");
});

t.test(
  'a secret or config whose text the compose file gives: written into the run, read where the service looks',
  async (t) => {
    const dir = tempProject(t, {
      'docker-compose.yml': `services:
  web:
    image: node:20
    working_dir: /app
    volumes: [".:/app"]
    command: node index.js
    environment:
      TOKEN_FILE: /run/secrets/token
      FLAGS: /etc/flags.json
    secrets: [token]
    configs:
      - source: flags
        target: /etc/flags.json
  db:
    image: postgres:16
    environment:
      POSTGRES_PASSWORD_FILE: /run/secrets/token
    secrets: [token]
secrets:
  token:
    environment: API_TOKEN
configs:
  flags:
    content: '{"beta": true}'
`,
    });
    const config = loadToolkitConfig(dir, { PATH: process.env.PATH, API_TOKEN: 't0ken' });
    const stack = projectStack(config);
    const web = stack.services.find((x) => x.name === 'web');
    if (!web) throw new Error('no web service');
    const files = writeInlineFiles(stack, path.join(dir, 'run-files'));
    const { env } = processEnvironment(stack, web, new Map(), undefined);
    t.equal(readFileSync(env.TOKEN_FILE as string, 'utf8'), 't0ken', "the variable's value, in its file");
    t.equal(statSync(env.TOKEN_FILE as string).mode & 0o777, 0o600, 'readable by this user only');
    t.equal(readFileSync(env.FLAGS as string, 'utf8'), '{"beta": true}', "the config's content");
    const run = runFile(stack, { labels: {}, images: {}, buildArgs: {}, inlineFiles: files }) as {
      secrets: Record<string, unknown>;
      configs: Record<string, unknown>;
    };
    t.same(run.secrets.token, { file: env.TOKEN_FILE }, 'compose v1 knows secrets with a file');
    t.same(run.configs.flags, { file: env.FLAGS });
    const db = stack.services.find((x) => x.name === 'db');
    t.equal(db && postgresSettings(db).password, 't0ken', "PostgreSQL's _FILE reads the secret's text");

    t.throws(() => projectStack(loadToolkitConfig(dir, { PATH: process.env.PATH })), {
      name: 'UserError',
      message:
        "secrets.token reads the variable API_TOKEN, which is not set: set it in the environment or in the project's .env.",
    });
  },
);

t.test(
  "the image's environment: what the Dockerfile sets, under the compose file's, on the process engine and under coverage",
  async (t) => {
    const dir = tempProject(t, {
      'docker-compose.yml': `services:
  web:
    build: .
    ports: ["8080:8080"]
    environment:
      LOG_LEVEL: debug
      GREETING: from compose
  db:
    build: db
`,
      Dockerfile: `FROM node:20-slim
WORKDIR /app
ENV NODE_ENV=production PORT=8080 GREETING="from the image" CONFIG=/app/config/app.json HOST=0.0.0.0
ENV PATH=/app/node_modules/.bin:$PATH HOME=/home/node
ENV NODE_OPTIONS="--require ./preload.cjs --max-old-space-size=256"
COPY . .
CMD ["node", "server.js"]
`,
      'db/Dockerfile': 'FROM postgres:16\nENV POSTGRES_DB=shop POSTGRES_PASSWORD=secret\n',
      'server.js': '',
    });
    const stack = projectStack(loadToolkitConfig(dir, { PATH: process.env.PATH }));
    const web = stack.services.find((x) => x.name === 'web');
    const db = stack.services.find((x) => x.name === 'db');
    if (!web || !db) throw new Error('no web or db service');
    const { env } = processEnvironment(stack, web, new Map(), peer('web', [[8080, 45000]]));
    t.equal(env.NODE_ENV, 'production', 'set by the image, so set here');
    t.equal(env.GREETING, 'from compose', "the compose file's value wins, as in a container");
    t.equal(env.PORT, '45000', "the image's PORT is the service's own port: the one it has here");
    t.equal(env.CONFIG, `${dir}/config/app.json`, 'a path in the image: where this machine has it');
    t.equal(env.HOST, '127.0.0.1', 'every interface in a container; 127.0.0.1 here, where docker publishes');
    t.equal(env.PATH, undefined, "the container's PATH is not this machine's");
    t.equal(env.HOME, undefined, 'nor its HOME');
    t.match(
      web.notes.find((n) => n.text.startsWith('image environment'))?.text,
      /^image environment NODE_ENV, PORT, GREETING, CONFIG, HOST, NODE_OPTIONS \(.*leaving out PATH, HOME \(the container's own\)\)$/,
      'said at init and by config --explain',
    );
    t.equal(postgresSettings(db).database, 'shop', "PostgreSQL's settings from its image's ENV too");

    const instrumented = instrument(stack, { flushMs: 1000, signal: 'SIGUSR2' }).services.find(
      (x) => x.name === 'web',
    );
    t.equal(
      instrumented?.environment.NODE_OPTIONS,
      `--require ./preload.cjs --max-old-space-size=256 --require ${SPY_MOUNT}/index.cjs`,
      "the coverage overlay's NODE_OPTIONS keeps the image's preload and heap size before the spy",
    );
  },
);

t.test(
  "a command as this machine runs it: the image's init left out, its paths and PATH from the build context",
  async (t) => {
    const dir = tempProject(t, {
      'docker-compose.yml': `services:
  web:
    build: .
    volumes: ["./config:/srv/app/config:ro"]
`,
      Dockerfile: `FROM node:20-slim
WORKDIR /srv/app
COPY . .
COPY scripts/entrypoint.sh /usr/local/bin/docker-entrypoint-app.sh
COPY defaults/ /etc/app/
COPY defaults/app.json /srv/app/config/app.json
COPY --from=node:20 /usr/local/bin/node /usr/local/bin/other-node
ENTRYPOINT ["docker-entrypoint-app.sh"]
CMD ["node", "/srv/app/dist/server.js"]
`,
      'scripts/entrypoint.sh': '#!/bin/sh\nexec "$@"\n',
      'defaults/app.json': '{}',
      'config/app.json': '{}',
    });
    const stack = projectStack(loadToolkitConfig(dir, { PATH: process.env.PATH }));
    const web = stack.services.find((x) => x.name === 'web');
    if (!web) throw new Error('no web service');
    t.same(
      hostCommand(web, web.command as string[]),
      [`${dir}/scripts/entrypoint.sh`, 'node', `${dir}/dist/server.js`],
      'a bare name the Dockerfile copied onto the PATH, and a path in the image, where the build context has them',
    );
    const toHost = containerPaths(web);
    t.equal(
      toHost('/etc/app/app.json'),
      `${dir}/defaults/app.json`,
      "a folder's contents, where COPY put them",
    );
    t.equal(
      toHost('--config=/srv/app/config/app.json'),
      `--config=${dir}/config/app.json`,
      'a bind mount hides what the image has there, as in the container',
    );
    t.equal(
      toHost('/usr/local/bin/other-node'),
      '/usr/local/bin/other-node',
      'a copy from another image is not here',
    );
    for (const [init, words] of [
      ['tini', ['/usr/bin/tini', '--', 'node', 'a.js']],
      ['tini with flags', ['tini', '-s', '-g', '--', 'node', 'a.js']],
      ['dumb-init', ['dumb-init', 'node', 'a.js']],
      ['dumb-init with a flag', ['/usr/bin/dumb-init', '--single-child', 'node', 'a.js']],
    ] as const)
      t.same(
        hostCommand({ ...web, imageFiles: [] }, [...words]),
        ['node', 'a.js'],
        `${init}: the runner is the init here`,
      );
  },
);

t.test(
  "a Dockerfile's EXPOSE: where the image's own command listens, not a command of the service's own",
  async (t) => {
    const dir = tempProject(t, {
      'docker-compose.yml': `services:
  api:
    build: .
  worker:
    build: .
    command: ["node", "worker.js"]
`,
      Dockerfile: 'FROM node:20-slim\nWORKDIR /app\nCOPY . .\nEXPOSE 3000\nCMD ["node", "server.js"]\n',
    });
    const stack = projectStack(loadToolkitConfig(dir, { PATH: process.env.PATH }));
    const port = (name: string) => stack.services.find((s) => s.name === name)?.containerPort;
    t.equal(port('api'), 3000, 'the port other services reach it on');
    t.equal(
      port('worker'),
      undefined,
      'a worker from the same Dockerfile listens on nothing: it is ready once it runs',
    );
  },
);
