// biome-ignore-all lint/suspicious/noTemplateCurlyInString: the strings are compose syntax under test
// The compose model realstack reads of a stack, from compose files as people write them.
import path from 'node:path';
import t from 'tap';
import { loadToolkitConfig } from '../src/config/toolkit.js';
import { forComposeV1 } from '../src/engine/compose-v1.js';
import { runFile } from '../src/engine/run-file.js';
import { loadStack, projectStack } from '../src/stack/compose.js';
import { processEngineRefusal } from '../src/stack/infer.js';
import { interpolate } from '../src/stack/interpolate.js';
import type { ServiceSpec, StackSpec } from '../src/stack/spec.js';
import { root } from './helpers/cli.js';
import { tempProject } from './helpers/project.js';

/** A project folder of its own with these files, removed after the test. */

const stackOf = (dir: string, env: Record<string, string> = {}) =>
  projectStack(loadToolkitConfig(dir, { PATH: process.env.PATH, ...env }));
const svc = (s: StackSpec, name: string) => s.services.find((x) => x.name === name) as ServiceSpec;
const notes = (s: ServiceSpec, kind: string) => s.notes.filter((n) => n.kind === kind).map((n) => n.text);

t.test('interpolation follows compose: defaults, required, $$', async (t) => {
  const env = { SET: 'x', EMPTY: '' };
  t.equal(interpolate('${SET:-d}|${EMPTY:-d}|${UNSET:-d}', env), 'x|d|d');
  t.equal(interpolate('${EMPTY-d}|${UNSET-d}', env), '|d');
  t.equal(interpolate('$SET and $$SET and ${SET}', env), 'x and $SET and x');
  t.throws(() => interpolate('${UNSET:?give it a value}', env), {
    name: 'InterpolationError',
    message:
      '${UNSET:?give it a value} needs UNSET, which is not set ("give it a value"): set it in the environment or in the project\'s .env',
  });
  t.throws(() => interpolate('${EMPTY:?}', env), {
    message: "${EMPTY:?} needs EMPTY, which is empty: set it in the environment or in the project's .env",
  });
  t.equal(interpolate('${EMPTY?}', env), '', '? without : takes an empty value');
  t.equal(interpolate('127.0.0.1:${AUTH_PORT:-}:3000', {}), '127.0.0.1::3000');
  t.equal(
    interpolate('${UNSET:-${SET:-d}}|${UNSET:-${UNSET2:-deep}}', env),
    'x|deep',
    'a default of variables',
  );
  t.equal(interpolate('${SET:+on}|${EMPTY:+on}|${EMPTY+on}|${UNSET+on}', env), 'on||on|', 'a replacement');
  t.equal(interpolate('${SET:-${UNSET:?never read}}', env), 'x', 'a default is read only when used');
  t.equal(interpolate('${1x} ${SET', env), '${1x} ${SET', 'what is no variable stays as written');
  t.equal(interpolate('$$${SET}$', env), '$x$');
});

t.test('the reference stack: compose file and realstack.json, nothing hand-labelled', async (t) => {
  const spec = projectStack(loadToolkitConfig(root, {}));
  t.same(
    spec.services.map((s) => [s.name, s.role, s.containerPort, s.hostPort]),
    [
      ['postgres', 'postgres', 5432, undefined],
      ['auth', 'node', 3000, undefined],
      ['api', 'node', 3000, undefined],
    ],
  );
  const auth = svc(spec, 'auth');
  t.same(
    auth.sourceRoot,
    { container: '/app', host: root.replace(/\/$/, '') },
    'inferred from the build context',
  );
  t.same(auth.entry, ['dist/services/auth/bundle/main.js'], 'inferred from the command');
  t.equal(auth.healthPath, '/health');
  t.equal(auth.knownPortVar, 'AUTH_PORT', 'auth must know its public URL: the toolkit chooses its port');
  t.same(auth.dependsOn, [{ service: 'postgres', condition: 'service_healthy' }]);
  t.equal(auth.stopGraceSeconds, 15);
  t.same(spec.volumes, ['pgdata']);
  t.equal(svc(projectStack(loadToolkitConfig(root, { AUTH_PORT: '4100' })), 'auth').hostPort, 4100);
});

t.test('dev.realstack.* labels still say what realstack.json says', async (t) => {
  const dir = tempProject(t, {
    'docker-compose.yml': `services:
  app:
    image: busybox
    command: ["/bin/app"]
    ports: ["3000"]
    labels:
      dev.realstack.role: node
      dev.realstack.source-root: /srv=./app
      dev.realstack.health-path: /ready
      dev.realstack.entry: bin/www.js
`,
  });
  const app = svc(stackOf(dir), 'app');
  t.equal(app.role, 'node');
  t.same(app.sourceRoot, { container: '/srv', host: path.join(dir, 'app') });
  t.equal(app.healthPath, '/ready');
  t.same(app.entry, ['bin/www.js']);
});

t.test('a service of the literal form: roles, source root and entry are inferred', async (t) => {
  const dir = tempProject(t, {
    'docker-compose.yml': `services:
  db:
    image: postgres:15.6-alpine
    container_name: app-db
    ports: ["5432:5432"]
  web:
    image: node:22-alpine
    working_dir: /usr/src/app/server
    volumes: [".:/usr/src/app", "./data:/data:ro"]
    command: sh -c "node migrate.js && exec node --enable-source-maps index.js"
    tty: true
    depends_on: [db]
  legacy:
    image: node:20
    working_dir: /app
    volumes: [".:/app"]
    command: sh -c "npm start"
  dev:
    image: node:20
    working_dir: /app
    volumes: [".:/app"]
    command: npx --yes tsx watch src/server.ts
  flags:
    image: node:20
    working_dir: /app
    volumes: [".:/app"]
    command: node --env-file .env -r dotenv/config --title api dist/index.js
  inline:
    image: node:20
    working_dir: /app
    volumes: [".:/app"]
    command: ["node", "-e", "require('./dist/index.js')"]
  watched:
    image: node:20
    working_dir: /app
    volumes: [".:/app"]
    command: npx nodemon -e ts,json -P 500 -L --exec "ts-node -P tsconfig.dev.json" --inspect src/index.ts
  respawned:
    image: node:20
    working_dir: /app
    volumes: [".:/app"]
    command: npx ts-node-dev --respawn --ignore-watch node_modules --transpile-only src/app.ts
  watchedAsOne:
    image: node:20
    working_dir: /app
    volumes: [".:/app"]
    command: nodemon --watch src --exec "node --inspect=0.0.0.0 --enable-source-maps" dist/main.js
  cache:
    image: redis:7
`,
    'package.json': JSON.stringify({
      scripts: { prestart: 'node scripts/seed.js', start: 'node dist/main.js' },
    }),
  });
  const s = stackOf(dir);
  t.equal(svc(s, 'db').role, 'postgres');
  t.equal(
    svc(s, 'cache').role,
    'redis',
    'the official redis image: the process engine runs it with redis-server',
  );
  const web = svc(s, 'web');
  t.equal(web.role, 'node');
  t.same(web.sourceRoot, { container: '/usr/src/app', host: dir }, 'the bind mount that covers working_dir');
  t.same(web.entry, ['server/index.js'], 'the last node script, relative to the source root');
  t.match(
    notes(web, 'inferred').join('\n'),
    /server\/migrate\.js before it is a helper, left out of coverage/,
  );
  t.equal(web.tty, true);
  t.same(web.dependsOn, [{ service: 'db', condition: 'service_started' }], 'the short form of depends_on');
  t.same(svc(s, 'legacy').entry, ['dist/main.js'], 'through npm start and its prestart');
  t.same(svc(s, 'dev').entry, ['src/server.ts'], "through npx and its flags, past tsx's watch");
  t.same(svc(s, 'flags').entry, ['dist/index.js'], "past node's options and the values they take");
  t.notOk(svc(s, 'inline').entry, '`node -e` runs no script file: no entry, and a note says so');
  t.same(
    svc(s, 'watched').entry,
    ['src/index.ts'],
    "what nodemon runs: its --exec, past its own options (-e is its --ext, -P its polling) and ts-node's, with what it passes on",
  );
  t.same(svc(s, 'watchedAsOne').entry, ['dist/main.js'], 'an --exec of several words');
  t.same(svc(s, 'respawned').entry, ['src/app.ts'], "ts-node-dev's script, past its options");
  t.match(
    notes(svc(s, 'legacy'), 'warning').join(),
    /runs in sh as the container's PID 1, which ignores SIGTERM/,
  );
  t.same(notes(web, 'warning'), [], '`exec` hands PID 1 to node');
  t.match(notes(svc(s, 'db'), 'changed').join('\n'), /container_name app-db is dropped/);
});

t.test('host ports: ephemeral on 127.0.0.1, unless chosen for the run or pinned', async (t) => {
  const dir = tempProject(t, {
    'docker-compose.yml': `services:
  a:
    image: nginx
    ports: ["8080:80", "0.0.0.0:8443:443/tcp", "9000"]
  b:
    image: nginx
    ports: ["\${B_PORT:-7000}:80"]
  c:
    image: nginx
    ports: [{ target: 80, published: 8081, host_ip: 0.0.0.0 }]
`,
    'realstack.json': JSON.stringify({ services: { c: { pinPorts: true } } }),
  });
  const s = stackOf(dir);
  t.same(
    svc(s, 'a').ports.map((p) => [p.hostIp, p.host, p.container]),
    [
      ['127.0.0.1', undefined, 80],
      ['127.0.0.1', undefined, 443],
      ['127.0.0.1', undefined, 9000],
    ],
  );
  t.match(
    notes(svc(s, 'a'), 'changed').join('\n'),
    /port 8080:80 is published on an ephemeral port of 127\.0\.0\.1/,
  );
  t.equal(svc(s, 'b').hostPort, undefined, "a default is not the user's choice");
  t.equal(svc(stackOf(dir, { B_PORT: '7100' }), 'b').hostPort, 7100, 'a variable set for the run is');
  t.same(svc(s, 'c').ports, [{ container: 80, protocol: 'tcp', hostIp: '0.0.0.0', host: 8081 }], 'pinned');
});

t.test('profiles: only active services, and a dependency on an inactive one is named', async (t) => {
  const dir = tempProject(t, {
    'docker-compose.yml': `services:
  web:
    image: node:22
    command: node server.js
  debug:
    image: node:22
    command: node debug.js
    profiles: [debug]
`,
  });
  t.same(
    stackOf(dir).services.map((s) => s.name),
    ['web'],
  );
  t.same(stackOf(dir).inactive, [{ name: 'debug', profiles: ['debug'] }]);
  t.same(
    stackOf(dir, { COMPOSE_PROFILES: 'debug' }).services.map((s) => s.name),
    ['web', 'debug'],
  );
  const dep = tempProject(t, {
    'docker-compose.yml': `services:
  web:
    image: node:22
    depends_on: [seed]
  seed:
    image: node:22
    profiles: [dev]
`,
  });
  t.throws(() => stackOf(dep), {
    message:
      'service "web" depends on "seed", which only starts with the profile dev: set COMPOSE_PROFILES=dev (or compose.profiles in realstack.json).',
  });
  const none = tempProject(t, { 'compose.yaml': 'services:\n  a:\n    image: x\n    profiles: [p]\n' });
  t.throws(() => stackOf(none), {
    message: /no service of the stack is active: every one has a profile \(p\)/,
  });
});

t.test('what a container needs started first counts as a dependency, as compose counts it', async (t) => {
  const dir = tempProject(t, {
    'docker-compose.yml': `services:
  db:
    image: postgres:16
  vpn:
    image: alpine
  files:
    image: alpine
  migrate:
    image: node:22
    depends_on:
      db: { condition: service_healthy }
  web:
    image: node:22
    network_mode: "service:vpn"
    volumes_from: ["files:ro", "container:outside"]
    links: ["db:database"]
    depends_on:
      migrate: { condition: service_completed_successfully }
`,
  });
  const stack = stackOf(dir);
  t.same(svc(stack, 'web').dependsOn, [
    { service: 'migrate', condition: 'service_completed_successfully' },
    { service: 'vpn', condition: 'service_started' },
    { service: 'files', condition: 'service_started' },
    { service: 'db', condition: 'service_started' },
  ]);
  const file = runFile(stack, { labels: {}, images: {}, buildArgs: {} }) as {
    services: Record<string, { depends_on?: unknown }>;
  };
  // Compose only orders the creation; realstack starts the containers and judges the conditions.
  t.same(file.services.web?.depends_on, ['migrate', 'vpn', 'files', 'db']);
  t.same(file.services.migrate?.depends_on, ['db']);
});

t.test('environment: env_file, then environment, and bare names from the environment', async (t) => {
  const dir = tempProject(t, {
    'docker-compose.yml': `services:
  web:
    image: node:22
    env_file: [.env.web, { path: .env.local, required: false }]
    environment:
      - FROM_FILE_OVERRIDDEN=compose
      - PASSED
      - UNSET_HERE
`,
    '.env.web': 'FROM_FILE=1\nFROM_FILE_OVERRIDDEN=file\n',
  });
  t.same(svc(stackOf(dir, { PASSED: 'yes' }), 'web').environment, {
    FROM_FILE: '1',
    FROM_FILE_OVERRIDDEN: 'compose',
    PASSED: 'yes',
  });
  const missing = tempProject(t, {
    'docker-compose.yml': 'services:\n  a:\n    image: x\n    env_file: .env.missing\n',
  });
  t.throws(() => stackOf(missing), { message: /env_file \.env\.missing does not exist/ });
});

t.test('realstack.json is checked once, naming the key that is wrong', async (t) => {
  const compose = 'services:\n  web:\n    image: node:22\n';
  const cases: [unknown, RegExp][] = [
    [
      { services: { web: { healthpath: '/h' } } },
      /services\.web has "healthpath", which realstack does not know/,
    ],
    [
      { services: { web: { healthPath: 'health' } } },
      /services\.web\.healthPath must be a path starting with "\/"/,
    ],
    [
      { services: { web: { sourceRoot: 'app' } } },
      /services\.web\.sourceRoot must read CONTAINER_PATH=HOST_PATH/,
    ],
    [
      { services: { api: {} } },
      /realstack\.json names service "api", which no compose file has; the services are web/,
    ],
    [{ coverage: { global: { lines: 120 } } }, /coverage\.global\.lines must be a percentage from 0 to 100/],
    [{ diagnose: { checks: [{ name: 'x' }] } }, /diagnose\.checks\[0\]\.command is missing/],
    [
      { images: { hostBuild: { command: 'npm run build', engines: ['kubernetes'] } } },
      /images\.hostBuild\.engines names engines a build runs for: "process", "docker" or both/,
    ],
    [
      { services: { web: { role: 'mongo' } } },
      /services\.web\.role must be one of "postgres", "node", "redis", "other"/,
    ],
  ];
  for (const [config, message] of cases) {
    const dir = tempProject(t, { 'docker-compose.yml': compose, 'realstack.json': JSON.stringify(config) });
    t.throws(() => stackOf(dir), { name: 'UserError', message }, JSON.stringify(config));
  }
  const broken = tempProject(t, { 'docker-compose.yml': compose, 'realstack.json': '{"services": ' });
  t.throws(() => stackOf(broken), { message: /realstack\.json is not valid JSON/ });
});

t.test("the docker run's compose file: what a run changes, and nothing else", async (t) => {
  const dir = tempProject(t, {
    'docker-compose.yml': `services:
  web:
    image: node:22-alpine
    container_name: web
    profiles: [app]
    environment:
      PRICE: "$$5"
    volumes: ["./src:/app/src", "data:/data", { type: volume, source: cache, target: /cache }]
    ports: ["8080:8080"]
    networks: [back, outside]
volumes:
  data: {}
  shared: { external: true }
  cache: { name: fixed_cache }
networks:
  back: {}
  outside: { external: true }
`,
  });
  const stack = stackOf(dir, { COMPOSE_PROFILES: 'app' });
  const labels = { 'dev.realstack.run': 'r1' };
  const file = runFile(stack, { labels, images: { web: 'realstack/node:20' }, buildArgs: {} }) as {
    services: { web: Record<string, unknown> };
    volumes: Record<string, unknown>;
    networks: Record<string, unknown>;
  };
  const web = file.services.web;
  t.notOk('container_name' in web, 'no container name');
  t.notOk('profiles' in web, 'no profiles: the run has chosen');
  t.same(web.ports, ['127.0.0.1::8080']);
  t.equal(web.image, 'realstack/node:20');
  t.same(
    (web.environment as Record<string, string>).PRICE,
    '$$5',
    'a literal $ survives compose interpolating again',
  );
  t.same(
    web.volumes,
    [`${dir}/src:/app/src`, 'data:/data', { type: 'volume', source: 'cache', target: '/cache' }],
    'bind mounts absolute: the file lives under .realstack/',
  );
  t.same(web.labels, labels);
  t.same(file.volumes.data, { labels });
  // A test run's data and network are its own: not the developer's, not another run's.
  t.same(file.volumes.shared, { labels }, "an external volume is the run's own");
  t.same(file.volumes.cache, { labels }, 'a fixed name is dropped');
  t.same(file.networks.back, { labels });
  t.same(file.networks.outside, { labels }, "an external network is the run's own");
  t.same(file.networks.default, { labels });
  t.same(
    stack.services[0]?.notes.filter((n) => /volume|network/.test(n.text)).map((n) => n.text),
    [
      "volume cache's name fixed_cache is dropped: each run has its own, so that two runs never share one",
      "network outside (external) is the run's own: a test run joins nothing outside itself",
    ],
    'what uses them is told',
  );
});

t.test('a compose file that does not parse is reported with file and line', async (t) => {
  const dir = tempProject(t, { 'broken.yml': 'services:\n  auth:\n    image: x\n   ports: [1\n' });
  const file = path.join(dir, 'broken.yml');
  t.throws(() => loadStack([file], {}), {
    name: 'ComposeFileError',
    message: new RegExp(`${file}:4:\\d+: the compose file does not parse`),
  });
});

t.test(
  'extends: from this file or another, paths from the file that wrote them, own keys over it',
  async (t) => {
    const dir = tempProject(t, {
      'docker-compose.yml': `services:
  db:
    image: postgres:16
    environment: { POSTGRES_PASSWORD: x }
  base:
    image: node:22
    environment: { LOG_LEVEL: info }
    ports: ["3000"]
  web:
    extends: { file: common/services.yml, service: node-app }
    environment: { MODE: web }
    depends_on: [db]
  worker:
    extends: base
    command: node worker.js
`,
      'common/services.yml': `services:
  node-app:
    build: ../app
    env_file: ./app.env
    environment: { MODE: base, FROM_BASE: "yes" }
    volumes: ["./seed:/seed:ro", "cache:/cache"]
    depends_on: [cache]
  cache:
    image: redis:7
`,
      'common/app.env': 'FROM_FILE=1\n',
      'app/Dockerfile': 'FROM node:22\nCMD ["node", "server.js"]\n',
    });
    const stack = stackOf(dir);
    const web = svc(stack, 'web');
    t.equal(web.build?.context, path.join(dir, 'app'), "the build context from the other file's folder");
    t.same(
      web.environment,
      { FROM_FILE: '1', MODE: 'web', FROM_BASE: 'yes' },
      'its env_file read from there; its own environment over the one it extends',
    );
    t.same(
      web.binds,
      [{ host: path.join(dir, 'common', 'seed'), container: '/seed' }],
      'a bind mount from there',
    );
    t.same(
      web.dependsOn,
      [{ service: 'db', condition: 'service_started' }],
      "its own depends_on only: the one it extends names a service of the other file (compose's rule)",
    );
    const worker = svc(stack, 'worker');
    t.same(
      [worker.image, worker.environment, worker.ports.map((p) => p.container), worker.command],
      ['node:22', { LOG_LEVEL: 'info' }, [3000], ['node', 'worker.js']],
      'the short form, in the same file: everything of base, its own command',
    );
    t.notOk(
      'extends' in ((stack.model.services as Record<string, object>).web ?? {}),
      'the run file has no extends',
    );

    const circle = tempProject(t, {
      'docker-compose.yml': 'services:\n  a:\n    extends: b\n  b:\n    extends: { service: a }\n',
    });
    t.throws(() => stackOf(circle), {
      name: 'ComposeFileError',
      message:
        /service "b": "extends" goes round in a circle: docker-compose\.yml:a → docker-compose\.yml:b → docker-compose\.yml:a/,
    });
    const missing = tempProject(t, {
      'docker-compose.yml': 'services:\n  a:\n    extends: nowhere\n  b:\n    image: x\n',
    });
    t.throws(() => stackOf(missing), {
      name: 'ComposeFileError',
      message:
        /service "a" extends service "nowhere", which .*docker-compose\.yml does not have; it has a, b/,
    });
  },
);

t.test('compose v1: newer keys a run does without are left out and named; others refused', async (t) => {
  const dir = tempProject(t, {
    'compose.yaml': `services:
  api:
    build:
      context: .
      target: api
    develop:
      watch: [{ action: rebuild, path: ./src }]
    healthcheck:
      test: ["CMD", "true"]
      interval: 30s
      start_interval: 1s
    x-notes: kept
`,
    Dockerfile: 'FROM node:20 AS api\nCMD ["node", "server.js"]\n',
  });
  const file = runFile(stackOf(dir), { labels: {}, images: {}, buildArgs: {} });
  const v1 = forComposeV1(file);
  t.same(v1.dropped, ["api's develop", "api's healthcheck.start_interval"]);
  const api = (v1.file.services as Record<string, Record<string, Record<string, unknown>>>).api;
  t.notOk(api?.develop);
  t.same(api?.healthcheck, { test: ['CMD', 'true'], interval: '30s' });
  t.equal(api?.build?.target, 'api', 'what v1 knows is kept');
  t.throws(
    () =>
      forComposeV1({
        services: {
          api: { image: 'x', build: { context: '.', ssh: ['default'] }, post_start: [{ command: 'x' }] },
        },
      }),
    {
      name: 'UserError',
      message:
        "the compose CLI here is docker-compose v1, which does not know api's post_start, api's build.ssh (newer compose file keys) and cannot run this stack as written. Install the compose plugin (v2: `docker compose`), or take the keys out of the compose file.",
    },
    'a key that changes what runs is refused, not dropped',
  );
});

t.test(
  "the stack's files: REALSTACK_COMPOSE_FILES, realstack.json, then COMPOSE_FILE as compose reads it",
  async (t) => {
    const dir = tempProject(t, {
      'compose.yaml': 'services: {}\n',
      'compose.override.yaml': 'services: {}\n',
      '.env': 'COMPOSE_FILE=compose.yaml:compose.dev.yaml\n',
    });
    const files = (env: Record<string, string>) =>
      loadToolkitConfig(dir, env).composeFiles.map((f) => path.relative(dir, f));
    t.same(files({}), ['compose.yaml', 'compose.dev.yaml'], "the project's .env, as compose reads it");
    t.equal(loadToolkitConfig(dir, {}).composeFilesFrom, 'COMPOSE_FILE');
    t.same(files({ COMPOSE_FILE: 'a.yml:b.yml' }), ['a.yml', 'b.yml'], 'the environment over .env');
    t.same(files({ COMPOSE_FILE: 'a.yml;b.yml', COMPOSE_PATH_SEPARATOR: ';' }), ['a.yml', 'b.yml']);
    t.same(
      files({ COMPOSE_FILE: '' }),
      ['compose.yaml', 'compose.override.yaml'],
      "empty: compose's defaults",
    );
    t.same(files({ REALSTACK_COMPOSE_FILES: 'x.yml' }), ['x.yml'], "realstack's own variable first");
    const pinned = tempProject(t, {
      '.env': 'COMPOSE_FILE=compose.yaml:compose.dev.yaml\n',
      'realstack.json': JSON.stringify({ compose: { files: ['stack.yml'] } }),
    });
    const config = loadToolkitConfig(pinned, {});
    t.same(config.composeFiles, [path.join(pinned, 'stack.yml')], "then realstack.json's compose.files");
    t.equal(config.composeFilesFrom, 'compose.files');
  },
);

t.test("a service's instances: deploy.replicas, else the older scale; a bad count is named", async (t) => {
  const dir = tempProject(t, {
    'compose.yaml': `services:
  a: { image: node:20, deploy: { replicas: 3 } }
  b: { image: node:20, scale: 2 }
  c: { image: node:20, deploy: { resources: { limits: { cpus: "0.5" } } } }
  d: { image: node:20, deploy: { replicas: 0 } }
`,
  });
  const stack = stackOf(dir);
  t.equal(svc(stack, 'a').replicas, 3);
  t.equal(svc(stack, 'b').replicas, 2);
  t.equal(svc(stack, 'c').replicas, undefined, 'one instance, as compose starts');
  t.equal(svc(stack, 'd').replicas, undefined);
  t.match(notes(svc(stack, 'd'), 'warning'), [
    /deploy\.replicas: 0 starts no container of it in compose; realstack starts one/,
  ]);
  const bad = tempProject(t, {
    'compose.yaml': 'services:\n  a: { image: node:20, deploy: { replicas: two } }\n',
  });
  t.throws(() => stackOf(bad), {
    message: /service "a": deploy\.replicas is "two"; it must be a whole number of instances\./,
  });
});

t.test('a port range is published as its single ports; ranges of different sizes are named', async (t) => {
  const dir = tempProject(t, {
    'compose.yaml':
      'services:\n  web:\n    image: node:20\n    ports: ["3000", "9229-9230:9229-9230", "7000-7001"]\n',
  });
  const ports = svc(stackOf(dir), 'web').ports;
  t.same(
    ports.map((p) => [p.container, p.moved]),
    [
      [3000, undefined],
      [9229, 9229],
      [9230, 9230],
      [7000, undefined],
      [7001, undefined],
    ],
  );
  const odd = tempProject(t, {
    'compose.yaml': 'services:\n  web:\n    image: node:20\n    ports: ["8000-8002:80-81"]\n',
  });
  t.throws(() => stackOf(odd), {
    name: 'UserError',
    message:
      /service "web": port "8000-8002:80-81" does not map a range port by port; .*give the host side a range of the same size, or none\./,
  });
});

t.test('depends_on with required: false starts without a dependency this run leaves out', async (t) => {
  const dir = tempProject(t, {
    'compose.yaml': `services:
  web:
    image: node:20
    depends_on:
      mail: { condition: service_started, required: false }
      db: { condition: service_healthy, restart: true }
  db:
    image: postgres:16
  mail:
    image: node:20
    profiles: [mail]
`,
  });
  const web = svc(stackOf(dir), 'web');
  t.same(web.dependsOn, [{ service: 'db', condition: 'service_healthy' }]);
  t.match(notes(web, 'changed'), [
    'starts without mail (depends_on, required: false), which this run leaves out by its profiles',
  ]);
  const file = runFile(stackOf(dir), { labels: {}, images: {}, buildArgs: {} }) as {
    services: Record<string, { depends_on?: unknown }>;
  };
  t.same(file.services.web?.depends_on, ['db'], 'no key compose v1 refuses (required, restart)');
  t.notOk(file.services.db?.depends_on);
  const both = svc(stackOf(dir, { COMPOSE_PROFILES: 'mail' }), 'web');
  t.same(
    both.dependsOn.map((d) => d.service),
    ['mail', 'db'],
    'with its profile, the dependency holds',
  );

  // Without required: false, a dependency left out by its profile is still named.
  const strict = tempProject(t, {
    'compose.yaml':
      'services:\n  web:\n    image: node:20\n    depends_on: [mail]\n  mail:\n    image: node:20\n    profiles: [mail]\n',
  });
  t.throws(() => stackOf(strict), { message: /depends on "mail", which only starts with the profile mail/ });
});

t.test("include: another file's services and resources, their paths from its folder", async (t) => {
  const dir = tempProject(t, {
    'compose.yaml': `include:
  - db/compose.yaml
  - path: [cache/compose.yaml, cache/compose.override.yaml]
services:
  web:
    build: ./web
    depends_on: [db, cache]
    secrets: [api_key]
`,
    'db/compose.yaml': `services:
  db:
    image: postgres:16
    volumes: ["./init:/docker-entrypoint-initdb.d:ro", "pgdata:/var/lib/postgresql/data"]
    env_file: db.env
volumes:
  pgdata:
secrets:
  api_key:
    file: ./api_key.txt
`,
    'db/db.env': 'POSTGRES_PASSWORD=from-db-env\n',
    'cache/compose.yaml': 'services:\n  cache:\n    image: redis:7\n',
    'cache/compose.override.yaml': 'services:\n  cache:\n    command: redis-server --maxmemory 10mb\n',
    'web/Dockerfile': 'FROM node:20\nCMD ["node", "server.js"]\n',
  });
  const stack = stackOf(dir);
  t.same(
    stack.services.map((s) => s.name),
    ['web', 'db', 'cache'],
  );
  const db = svc(stack, 'db');
  t.same(
    db.binds,
    [{ host: path.join(dir, 'db', 'init'), container: '/docker-entrypoint-initdb.d' }],
    "a bind mount from the included file's folder",
  );
  t.equal(db.environment.POSTGRES_PASSWORD, 'from-db-env', 'its env_file from there too');
  t.same(svc(stack, 'cache').command, ['redis-server', '--maxmemory', '10mb'], "the entry's files merged");
  t.same(svc(stack, 'web').fileMounts, [
    { container: '/run/secrets/api_key', host: path.join(dir, 'db', 'api_key.txt') },
  ]);
  t.same(stack.volumes, ['pgdata']);
  const file = runFile(stack, { labels: {}, images: {}, buildArgs: {} });
  t.notOk('include' in file, 'the run file has it all: compose v1 knows no include');

  const clash = tempProject(t, {
    'compose.yaml': 'include: [other.yaml]\nservices:\n  db:\n    image: postgres:16\n',
    'other.yaml': 'services:\n  db:\n    image: postgres:15\n',
  });
  t.throws(() => stackOf(clash), {
    message:
      /service "db" is declared here and in .*other\.yaml, which it includes; compose refuses that too: rename one\./,
  });
  const circle = tempProject(t, {
    'compose.yaml': 'include: [a.yaml]\nservices:\n  web:\n    image: node:20\n',
    'a.yaml': 'include: [compose.yaml]\n',
  });
  t.throws(() => stackOf(circle), { message: /include goes round in a circle/ });
});

t.test('stop_signal as compose reads it; a signal the process engine cannot pass on is named', async (t) => {
  const dir = tempProject(t, {
    'compose.yaml': `services:
  a: { image: node:20, stop_signal: SIGINT }
  b: { image: node:20, stop_signal: quit }
  c: { image: node:20, stop_signal: SIGTERM }
  d: { image: node:20, stop_signal: SIGUSR1, command: node d.js, working_dir: /app, volumes: [".:/app"] }
`,
  });
  const stack = stackOf(dir);
  t.equal(svc(stack, 'a').stopSignal, 'SIGINT');
  t.equal(svc(stack, 'b').stopSignal, 'SIGQUIT', 'without SIG, in any case');
  t.equal(svc(stack, 'c').stopSignal, undefined, "SIGTERM: the engines' own");
  t.match(
    processEngineRefusal(svc(stack, 'd'))?.message,
    /cannot stop service "d" with its stop_signal SIGUSR1: it stops services with SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR2/,
  );
  const bad = tempProject(t, {
    'compose.yaml': 'services:\n  a: { image: node:20, stop_signal: SIGNOPE }\n',
  });
  t.throws(() => stackOf(bad), {
    message: /service "a": stop_signal SIGNOPE is not a signal; write one as compose does, SIGINT/,
  });
});

t.test('a Node service others reach on a port, and nothing else names one, listens there', async (t) => {
  const node = (more: string) => `    image: node:20\n    command: ["node", "s.js"]\n${more}`;
  const s = stackOf(
    tempProject(t, {
      'compose.yaml': `services:
  users:
${node('')}
  gateway:
${node('    environment:\n      USERS_URL: http://users:4000/v1\n      CACHE: cache:6379\n')}
  jobs:
${node('    environment:\n      USERS: users:4000\n      TWO_A: http://two:5000\n      TWO_B: two:5001\n      OWN_URL: http://said:9000\n')}
  two:
${node('')}
  said:
${node('    expose: ["8000"]\n')}
  web:
${node('    environment:\n      ADMIN: http://jobsdb/\n')}
  cache:
    image: redis:7
  jobsdb:
${node('    hostname: jobsdb\n')}
`,
    }),
  );
  t.equal(svc(s, 'users').containerPort, 4000, 'the port its peers write');
  t.same(
    notes(svc(s, 'users'), 'inferred').filter((n) => n.startsWith('listens on')),
    [
      "listens on 4000 (gateway's USERS_URL reaches it there; expose or publish a port in the compose file to change it)",
    ],
  );
  t.same(
    svc(s, 'users').ports.map((p) => [p.container, p.hostIp]),
    [[4000, '127.0.0.1']],
    'published on 127.0.0.1 for the run, as an exposed port is',
  );
  t.equal(svc(s, 'two').containerPort, undefined, 'reached on two ports: the compose file must say which');
  t.equal(svc(s, 'said').containerPort, 8000, "the compose file's expose wins over its peers' addresses");
  t.equal(svc(s, 'jobsdb').containerPort, 80, "a URL with no port: its scheme's");
  t.equal(svc(s, 'cache').containerPort, 6379, 'a Redis keeps its own');
  t.equal(svc(s, 'gateway').containerPort, undefined, 'reached by nobody: no port');
});
