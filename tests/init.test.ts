// `realstack init` in projects of its own: what it writes, what it keeps, what it says.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import t, { type Test } from 'tap';
import { migrationFiles } from '../src/init/migration-files.js';
import { cleanupColumnIn } from '../src/init/sql-tables.js';
import { justfile } from '../src/init/templates.js';
import { hasStackTrace, root, run } from './helpers/cli.js';
import { tempProject } from './helpers/project.js';

const cli = (dir: string, ...args: string[]) =>
  run(process.execPath, [path.join(root, 'bin/realstack.js'), ...args], {
    cwd: dir,
    env: { PATH: process.env.PATH, HOME: process.env.HOME },
    extendEnv: false,
  });
const init = (dir: string, ...args: string[]) => cli(dir, 'init', ...args);
/** init in a project of these files, which must succeed. */
const initialised = async (t: Test, files: Record<string, string>) => {
  const dir = tempProject(t, files);
  const res = await init(dir);
  t.equal(res.exitCode, 0, res.exitCode === 0 ? 'init succeeds' : res.all);
  return { dir, res };
};

const compose = `services:
  api:
    build: .
    ports: ["3000:3000"]
    depends_on: [db]
  db:
    image: postgres:16
`;
const dockerfile = 'FROM node:22-slim\nWORKDIR /srv\nCOPY . .\nCMD ["node", "dist/main.js"]\n';

t.test("this repository's justfile is the one init writes, but for where the CLI is", async (t) => {
  t.equal(readFileSync(path.join(root, 'justfile'), 'utf8'), justfile('node bin/realstack.js'));
});

t.test('a build: service: source root from the build context, entry from its Dockerfile', async (t) => {
  const dir = tempProject(t, {
    'compose.yaml': compose,
    Dockerfile: dockerfile,
    'src/routes.ts': "app.get('/healthz', () => 'ok');\n",
  });
  const res = await init(dir);
  t.equal(res.exitCode, 0, res.all);
  const config = JSON.parse(readFileSync(path.join(dir, 'realstack.json'), 'utf8'));
  t.same(config.compose.files, ['compose.yaml'], "compose's own default name found");
  t.same(config.services.api, {
    role: 'node',
    sourceRoot: '/srv=.',
    entry: ['dist/main.js'],
    healthPath: '/healthz',
  });
  t.same(config.services.db, { role: 'postgres' });
  t.match(
    readFileSync(path.join(dir, '.taprc'), 'utf8'),
    'include:\n  - "test/**/*.test.{js,mjs,cjs,ts,mts}"',
  );
  t.match(
    readFileSync(path.join(dir, 'test/realstack.test.mjs'), 'utf8'),
    "fetch(new URL('/healthz', serviceUrl('api')))",
  );
  t.equal(readFileSync(path.join(dir, 'justfile'), 'utf8'), justfile());
  t.equal(
    readFileSync(path.join(dir, '.dockerignore'), 'utf8'),
    "# realstack's outputs (runs, logs, generated secrets, reports) stay out of images\n.realstack\ncoverage\ntest-results\n.tap\n",
    'the build context is the project: its runs and secrets would reach docker build (COPY . .)',
  );
  t.match(res.stderr, '\n  .dockerignore\n', 'a file init made is written, not added to');
});

t.test("the user's own files are kept: a justfile, tap settings in package.json", async (t) => {
  const dir = tempProject(t, {
    'docker-compose.yml': compose,
    Dockerfile: dockerfile,
    justfile: 'build:\n    make\n',
    'package.json': JSON.stringify({
      name: 'x',
      tap: { include: ['spec/**/*.ts'] },
      devDependencies: { 'rust-just': '1' },
    }),
    'tests/a.test.js': '',
    '.gitignore': 'node_modules\n/coverage/\n',
    '.dockerignore': 'node_modules\ncoverage/\n',
  });
  const res = await init(dir);
  t.equal(res.exitCode, 0, res.all);
  t.equal(
    readFileSync(path.join(dir, 'justfile'), 'utf8'),
    'build:\n    make\n',
    'their justfile is untouched',
  );
  t.ok(existsSync(path.join(dir, 'realstack.just')), 'the recipes beside it');
  t.match(res.stderr, "add the line `import 'realstack.just'` to it");
  t.notOk(existsSync(path.join(dir, '.taprc')), 'no .taprc: it would override their package.json settings');
  t.match(
    res.stderr,
    /package\.json has tap settings of its own, kept; add to its "tap": \{"include":\["tests\/\*\*/,
  );
  t.ok(existsSync(path.join(dir, 'tests/realstack.test.mjs')), 'the sample in their test folder');
  t.equal(
    readFileSync(path.join(dir, '.gitignore'), 'utf8'),
    "node_modules\n/coverage/\n# realstack's outputs\n/.realstack/\n/test-results/\n/.tap/\n",
    'only the missing lines, appended',
  );
  t.equal(
    readFileSync(path.join(dir, '.dockerignore'), 'utf8'),
    "node_modules\ncoverage/\n# realstack's outputs (runs, logs, generated secrets, reports) stay out of images\n.realstack\ntest-results\n.tap\n",
    'the .dockerignore keeps its lines and gets only those it lacks',
  );
  t.match(res.stderr, '\n  .gitignore (lines added)\n  .dockerignore (lines added)\n');
  t.notMatch(res.stderr, /rust-just/, 'just is there already');
});

t.test(
  "a context's node_modules sent to a build that installs its own: ignored in a .dockerignore init writes, named where the user has one",
  async (t) => {
    const files = {
      'compose.yaml': compose,
      Dockerfile:
        'FROM node:22-slim\nWORKDIR /srv\nCOPY . .\nRUN npm ci --omit=dev\nCMD ["node", "main.js"]\n',
      'node_modules/left-pad/package.json': '{"name": "left-pad"}',
    };
    const dir = tempProject(t, files);
    const res = await init(dir);
    t.equal(res.exitCode, 0, res.all);
    t.equal(
      readFileSync(path.join(dir, '.dockerignore'), 'utf8'),
      "# the image installs its own packages (its Dockerfile's RUN)\nnode_modules\n# realstack's outputs (runs, logs, generated secrets, reports) stay out of images\n.realstack\ncoverage\ntest-results\n.tap\n",
      "no .dockerignore: the one init writes leaves node_modules out, as Docker's own Node template does",
    );
    t.match(
      res.stderr,
      '.dockerignore: node_modules stays out of the builds of api, whose Dockerfile installs its own packages',
      'and says so among what it inferred',
    );
    t.notMatch(res.stderr, /goes to every build/);

    const theirs = tempProject(t, { ...files, '.dockerignore': 'dist\n' });
    const named = await init(theirs);
    t.match(
      named.stderr,
      "node_modules goes to every build of api, whose Dockerfile installs its own packages: add node_modules to .dockerignore (a COPY . . after the install would also put this machine's packages over the image's)",
      'their own .dockerignore: a line to add, not a change to what their builds send',
    );
    t.equal(
      readFileSync(path.join(theirs, '.dockerignore'), 'utf8'),
      "dist\n# realstack's outputs (runs, logs, generated secrets, reports) stay out of images\n.realstack\ncoverage\ntest-results\n.tap\n",
    );
    writeFileSync(path.join(theirs, '.dockerignore'), 'node_modules\n');
    t.notMatch((await init(theirs, '--dry-run')).stderr, /goes to every build/, 'once ignored, no more');
  },
);

t.test('nothing is overwritten without --force; --dry-run writes nothing', async (t) => {
  const dir = tempProject(t, { 'docker-compose.yml': compose, Dockerfile: dockerfile });
  const dry = await init(dir, '--dry-run');
  t.equal(dry.exitCode, 0);
  t.match(dry.stderr, /would write:\n\s+realstack\.json/);
  t.notOk(existsSync(path.join(dir, 'realstack.json')), 'nothing written');
  writeFileSync(path.join(dir, 'realstack.json'), '{"services": {}}\n');
  const kept = await init(dir);
  t.match(kept.stderr, /kept \(they exist; --force overwrites them\):\n\s+realstack\.json/);
  t.equal(readFileSync(path.join(dir, 'realstack.json'), 'utf8'), '{"services": {}}\n');
  const forced = await init(dir, '--force');
  t.equal(forced.exitCode, 0);
  t.match(readFileSync(path.join(dir, 'realstack.json'), 'utf8'), '"sourceRoot": "/srv=."');
});

t.test('what init cannot infer, it says with the line to add', async (t) => {
  const dir = tempProject(t, {
    'docker-compose.yml':
      'services:\n  app:\n    image: node:22\n    command: ["npm", "run", "serve"]\n    ports: ["80"]\n',
  });
  const res = await init(dir);
  t.equal(res.exitCode, 0, res.all);
  t.match(
    res.stderr,
    'app: its source root is unknown (no bind mount covers its working_dir, no build context): add "sourceRoot": "/app=." to its entry in realstack.json',
  );
  const none = tempProject(t, { 'README.md': 'no compose here' });
  const missing = await init(none);
  t.equal(missing.exitCode, 1);
  t.match(missing.stderr, /no compose file at docker-compose\.yml: realstack runs your stack from it/);
  t.notOk(hasStackTrace(missing.stderr));
});

t.test("the variables a project's tests read a service's address from: testEnv", async (t) => {
  const { dir, res } = await initialised(t, {
    'docker-compose.yml': `services:
  api:
    build: .
    ports: ["3000:3000"]
  admin:
    build: .
    ports: ["4000:4000"]
  db:
    image: postgres:16
`,
    Dockerfile: dockerfile,
    // The usual fallbacks: a helper, a path under the service, the env-file way.
    'test/helpers/base.js': "export const base = process.env.API_BASE || 'http://localhost:3000/v1';\n",
    'test/admin.test.ts': "const res = await fetch('http://127.0.0.1:4000/users');\n",
    'test/other.test.js': "const x = process.env['OTHER_URL'] ?? 'http://localhost:9999';\n",
    '.env.test':
      'DATABASE_URL=postgres://app:secret@localhost:5432/app\nAPI_BASE=http://localhost:3000/ignored\n',
  });
  const config = JSON.parse(readFileSync(path.join(dir, 'realstack.json'), 'utf8'));
  t.same(
    config.testEnv,
    { API_BASE: '{api}/v1', DATABASE_URL: '{db}' },
    "the tests' own fallback first; a port no service has is left alone",
  );
  t.match(
    res.stderr,
    'tests: API_BASE = {api}/v1 (test/helpers/base.js reads it, falling back to http://localhost:3000/v1, where the compose file has api',
  );
  t.match(
    res.stderr,
    'tests: DATABASE_URL = {db} (.env.test sets it to postgres://app:secret@localhost:5432/app',
  );
  t.match(
    res.stderr,
    'test/admin.test.ts (http://127.0.0.1:4000/users) connects to admin where the compose file publishes it; each run publishes it at a URL of its own: read it from a variable',
    'a hard-coded address is a to-do',
  );
});

t.test(
  'tests of a runner tap cannot run: how to run them on a stack, and measure the services',
  async (t) => {
    const { res } = await initialised(t, {
      'compose.yaml': compose,
      Dockerfile: dockerfile,
      'package.json': JSON.stringify({ name: 'x', devDependencies: { vitest: '3' } }),
    });
    t.match(
      res.stderr,
      'your tests run with vitest (package.json), and `npx realstack test` runs tap (node:test files too). Run them on a stack with `npx realstack up`, then `(eval "$(npx realstack env)"; npx vitest run)`, then `npx realstack down`',
    );
  },
);

t.test(
  "the compose file's own test runner: its environment for the tests, its profile not started",
  async (t) => {
    const runner = (profiles: string) => `services:
  api:
    build: .
    ports: ["3000:3000"]
  admin:
    image: node:22
    command: node admin.js
    profiles: [tools]
  e2e:
    build: .
    command: sh -c "npm ci && npm run test:e2e"${profiles}
    environment:
      BASE_URL: http://api:3000/v1
      NODE_ENV: test
`;
    const apart = tempProject(t, {
      'compose.yaml': runner('\n    profiles: [tools, e2e]'),
      Dockerfile: dockerfile,
    });
    const res = await init(apart);
    t.equal(res.exitCode, 0, res.all);
    const config = JSON.parse(readFileSync(path.join(apart, 'realstack.json'), 'utf8'));
    t.equal(config.testEnvFrom, 'e2e');
    t.same(config.compose.profiles, ['tools'], 'a profile that holds other services still starts');
    t.notOk(config.services.e2e);
    t.match(
      res.stderr,
      'e2e runs the tests in a container (`sh -c npm ci && npm run test:e2e`), and every service without a profile starts with the stack',
      'a runner in a profile that starts anyway is no runner apart',
    );
    const always = tempProject(t, { 'compose.yaml': runner(''), Dockerfile: dockerfile });
    const todo = await init(always);
    t.match(
      todo.stderr,
      "e2e runs the tests in a container (`sh -c npm ci && npm run test:e2e`), and every service without a profile starts with the stack: give it `profiles: [test]` in the compose file. `npx realstack test` runs them on this machine instead, with its environment, its addresses of the stack (BASE_URL) made each run's (testEnvFrom in realstack.json)",
    );
  },
);

t.test(
  "the project's own test files: those tap runs are included, by folder and suffix; others named",
  async (t) => {
    const { dir, res } = await initialised(t, {
      'compose.yaml': compose,
      Dockerfile: dockerfile,
      'test/api.spec.js': "import { test } from 'node:test';\ntest('a', () => {});\n",
      'test/helpers.js': 'export const x = 1;\n',
      'e2e/login.test.ts': "import t from 'tap';\n",
      'tests/ui.spec.ts': "import { test } from '@playwright/test';\n",
      'tests/unit.test.js': "describe('x', () => { it('y', () => {}); });\n",
    });
    t.equal(
      readFileSync(path.join(dir, '.taprc'), 'utf8').split('disable-coverage')[0],
      '# tap for realstack (written by `npx realstack init`): the tests run against the real stack.\ninclude:\n  - "test/**/*.{spec,test}.{js,mjs,cjs,ts,mts}"\n  - "e2e/**/*.test.{js,mjs,cjs,ts,mts}"\n# Tests of another runner, which tap cannot run.\nexclude:\n  - "tests/ui.spec.ts"\n  - "tests/unit.test.js"\n# tap\'s own coverage would measure the test processes; realstack measures the services.\n',
      "the .spec files node:test runs, the tap files of another folder, the sample's suffix; the others left out",
    );
    t.ok(existsSync(path.join(dir, 'test/realstack.test.mjs')), 'the sample beside the tests tap runs');
    t.match(
      res.stderr,
      '2 test files in tests/ run with Vitest, Jest, Mocha or Playwright, which tap cannot run: .taprc leaves them out. Run them on a stack with `npx realstack up`, then `(eval "$(npx realstack env)"; npx <your runner>)`',
    );
  },
);

// A NestJS service as its CLI scaffolds one: controllers by decorator, `node dist/main`, and a
// Dockerfile whose first stage builds dist/.
const nestDockerfile = `FROM node:20-alpine AS builder
WORKDIR /usr/src/app
COPY package*.json ./
RUN npm ci
COPY . .
RUN npm run build

FROM node:20-alpine
WORKDIR /usr/src/app
COPY package*.json ./
RUN npm ci --omit=dev
COPY --from=builder /usr/src/app/dist ./dist
CMD ["node", "dist/main"]
`;
const nestProject = (files: Record<string, string> = {}) => ({
  'docker-compose.yml':
    "services:\n  app:\n    build: .\n    ports: ['3000:3000']\n    depends_on: [db]\n  db:\n    image: postgres:15-alpine\n",
  Dockerfile: nestDockerfile,
  '.dockerignore': 'node_modules\ndist\n',
  'package.json': JSON.stringify({ name: 'app', scripts: { build: 'nest build', start: 'node dist/main' } }),
  'nest-cli.json': '{}',
  'tsconfig.json': '{}',
  'tsconfig.build.json': '{}',
  'README.md': '# app',
  'src/main.ts': 'await app.listen(3000);\n',
  'src/health/health.controller.ts':
    "@Controller('health')\nexport class HealthController {\n  @Get()\n  @HealthCheck()\n  check() {}\n}\n",
  'src/users/users.controller.ts':
    "@Controller('users')\nexport class UsersController {\n  @Get('status')\n  status() {}\n}\n",
  'test/app.e2e-spec.ts': '',
  'dist/main.js': '',
  ...files,
});

t.test('NestJS: the health controller, and the build its Dockerfile runs as the host build', async (t) => {
  const { dir, res } = await initialised(t, nestProject());
  const config = JSON.parse(readFileSync(path.join(dir, 'realstack.json'), 'utf8'));
  t.equal(config.services.app.healthPath, '/health', "@Controller('health') with a bare @Get()");
  t.same(config.services.app.entry, ['dist/main']);
  t.same(
    config.images.hostBuild,
    {
      command: ['npm', 'run', 'build'],
      inputs: ['nest-cli.json', 'package.json', 'src', 'tsconfig.build.json', 'tsconfig.json'],
      engines: ['process'],
    },
    'what the build reads: not its output, the Dockerfile, the compose file, docs or tests',
  );
  t.match(res.all, 'the Dockerfile of app runs `npm run build`');
  t.match(res.all, 'the docker engine leaves it to the images', 'the images build it themselves');

  const prefixed = tempProject(
    t,
    nestProject({
      'src/main.ts': "app.setGlobalPrefix('api');\nawait app.listen(3000);\n",
      'src/health/health.controller.ts':
        "@Controller()\nexport class AppController {\n  @Get('healthz')\n  ok() {}\n}\n",
    }),
  );
  t.equal((await init(prefixed)).exitCode, 0);
  const under = JSON.parse(readFileSync(path.join(prefixed, 'realstack.json'), 'utf8'));
  t.equal(under.services.app.healthPath, '/api/healthz', "@Get('healthz') under the global prefix");
});

t.test('a workspace built from the root: its own build command, its output left out', async (t) => {
  const dir = tempProject(t, {
    'docker-compose.yml': "services:\n  api:\n    build: .\n    ports: ['3000']\n",
    Dockerfile:
      'FROM node:20 AS build\nWORKDIR /repo\nCOPY . .\nRUN npm ci && npm run build -w apps/api\nFROM node:20\nWORKDIR /repo\nCOPY --from=build /repo .\nCMD ["node", "apps/api/dist/server.js"]\n',
    'package.json': JSON.stringify({ name: 'mono', workspaces: ['apps/*'], scripts: { build: 'tsc -b' } }),
    'apps/api/package.json': JSON.stringify({ name: 'api', scripts: { build: 'tsc' } }),
    'apps/api/src/server.ts': '',
    'apps/api/dist/server.js': '',
    'apps/web/src/index.ts': '',
  });
  t.equal((await init(dir)).exitCode, 0);
  const config = JSON.parse(readFileSync(path.join(dir, 'realstack.json'), 'utf8'));
  t.same(config.images.hostBuild, {
    command: ['npm', 'run', 'build', '-w', 'apps/api'],
    inputs: ['apps/api/package.json', 'apps/api/src', 'apps/web', 'package.json'],
    engines: ['process'],
  });
});

t.test('a Dockerfile that names what its build reads: those are the inputs', async (t) => {
  const { dir, res } = await initialised(t, {
    'compose.yaml':
      "services:\n  api:\n    build: .\n    ports: ['3000']\n  worker:\n    build: .\n    command: node dist/worker.js\n",
    Dockerfile:
      'FROM node:20-alpine AS build\nWORKDIR /app\nCOPY package*.json ./\nRUN npm ci\nCOPY tsconfig.json ./\nCOPY ["src", "./src"]\nRUN npm run build\nFROM node:20-alpine\nWORKDIR /app\nCOPY --from=build /app/dist ./dist\nCOPY knexfile.js ./\nCMD ["node", "dist/index.js"]\n',
    'package.json': JSON.stringify({ name: 'orders', scripts: { build: 'tsc' } }),
    'package-lock.json': '{}',
    'tsconfig.json': '{}',
    'knexfile.js': '',
    'migrations/001.js': '',
    '.env': 'X=1\n',
    'src/index.ts': '',
  });
  t.same(JSON.parse(readFileSync(path.join(dir, 'realstack.json'), 'utf8')).images.hostBuild, {
    command: ['npm', 'run', 'build'],
    inputs: ['package-lock.json', 'package.json', 'src', 'tsconfig.json'],
    engines: ['process'],
  });
  t.match(
    res.all,
    'the Dockerfile of api, worker runs `npm run build`',
    'one line for the services of one build',
  );
});

t.test('no build step in the Dockerfile, no host build', async (t) => {
  const dir = tempProject(t, { 'compose.yaml': compose, Dockerfile: dockerfile });
  t.equal((await init(dir)).exitCode, 0);
  t.notOk(JSON.parse(readFileSync(path.join(dir, 'realstack.json'), 'utf8')).images);
});

t.test("services sharing one bind mount: each one's health path from its own folder", async (t) => {
  const dir = tempProject(t, {
    'docker-compose.yml': `services:
  gateway:
    image: node:20-slim
    working_dir: /srv/gateway
    volumes: [".:/srv"]
    command: node index.js
    ports: ["8080:8080"]
  users:
    image: node:20-slim
    working_dir: /srv
    volumes: [".:/srv"]
    command: node users/index.js
    expose: ["4000"]
`,
    'gateway/index.js': "if (req.url === '/healthz') ok();\n",
    'users/index.js': "if (req.url === '/health') ok();\n",
  });
  t.equal((await init(dir)).exitCode, 0);
  const { services } = JSON.parse(readFileSync(path.join(dir, 'realstack.json'), 'utf8'));
  t.equal(services.gateway.healthPath, '/healthz', 'from its working directory');
  t.equal(services.users.healthPath, '/health', "from its entry's folder, not the gateway's route");
});

t.test(
  'the health path its compose health check fetches, over the routes a shared source tree names',
  async (t) => {
    // One build context for an api and a worker: the api's sources sit beside the worker's
    // /healthz, and only its health check says which path is the api's.
    const dir = tempProject(t, {
      'compose.yaml': `services:
  api:
    build: .
    ports: ["3000:3000"]
    healthcheck:
      test: curl -f http://localhost:3000/health || exit 1
  worker:
    build: .
    command: ["node", "src/worker.js"]
    expose: ["3001"]
    healthcheck:
      test: ["CMD", "wget", "-qO-", "http://127.0.0.1:9999/healthz"]
`,
      Dockerfile: 'FROM node:20-alpine\nWORKDIR /app\nCOPY src ./src\nCMD ["node", "src/server.js"]\n',
      'src/server.js': "if (req.url === '/health') ok();\n",
      'src/worker.js': "if (req.url === '/healthz') ok();\n",
    });
    const res = await init(dir);
    t.equal(res.exitCode, 0, res.all);
    const { services } = JSON.parse(readFileSync(path.join(dir, 'realstack.json'), 'utf8'));
    t.equal(services.api.healthPath, '/health');
    t.match(res.all, 'api: health path /health (what its health check fetches)');
    t.equal(
      services.worker.healthPath,
      '/healthz',
      'a check on another port than its own says nothing: its sources do',
    );
    t.match(res.all, 'worker: health path /healthz (its sources name it; also /health)');
  },
);

t.test("a one-shot that runs a package's command: no entry to ask for", async (t) => {
  const dir = tempProject(t, {
    'docker-compose.yml': `services:
  migrate:
    image: node:20
    working_dir: /app
    volumes: [".:/app"]
    command: npx --yes knex migrate:latest
  seed:
    image: node:20
    working_dir: /app
    volumes: [".:/app"]
    command: ["prisma", "db", "seed"]
  odd:
    image: node:20
    working_dir: /app
    volumes: [".:/app"]
    command: ["run-something"]
`,
    'node_modules/.bin/prisma': '',
  });
  const res = await init(dir);
  t.equal(res.exitCode, 0, res.all);
  t.match(res.all, "migrate: runs a package's command (npx knex), not a script of its own");
  t.match(res.all, "seed: runs a package's command (prisma), not a script of its own");
  t.notMatch(res.all, /(migrate|seed): which script is the service could not be read/);
  t.match(res.all, 'odd: which script is the service could not be read', 'anything else is still asked');
});

t.test(
  "COMPOSE_FILE in .env names the stack's files, as compose reads them; a target builds only the stages it needs",
  async (t) => {
    const files = {
      'docker-compose.yml':
        'services:\n  api:\n    build:\n      context: .\n      target: prod\n    ports: ["3000"]\n',
      'docker-compose.dev.yml':
        'services:\n  api:\n    build:\n      target: dev\n    volumes: [".:/app", "/app/node_modules"]\n',
      // The dev stage runs the sources through tsx; only the prod stage needs the build's dist/.
      Dockerfile:
        'FROM node:20-alpine AS base\nWORKDIR /app\nCOPY package*.json ./\nRUN npm ci\nFROM base AS dev\nCMD ["npm", "run", "dev"]\nFROM base AS build\nCOPY . .\nRUN npm run build\nFROM node:20-alpine AS prod\nWORKDIR /app\nCOPY --from=build /app/dist ./dist\nCMD ["node", "dist/index.js"]\n',
      'package.json': JSON.stringify({
        name: 'shop',
        scripts: { dev: 'tsx watch src/index.ts', build: 'tsc' },
      }),
      'src/index.ts': "app.get('/health', ok);\n",
      '.env': 'COMPOSE_FILE=docker-compose.yml:docker-compose.dev.yml\n',
    };
    const dir = tempProject(t, files);
    const res = await init(dir);
    t.equal(res.exitCode, 0, res.all);
    const config = JSON.parse(readFileSync(path.join(dir, 'realstack.json'), 'utf8'));
    t.same(config.compose, {}, 'COMPOSE_FILE stays the one to say, on machines without it too');
    t.match(res.all, 'compose files docker-compose.yml, docker-compose.dev.yml: COMPOSE_FILE names them');
    t.same(config.services.api.entry, ['src/index.ts'], "the dev file's command: npm run dev, then tsx");
    t.notOk(config.images, 'the dev stage does not need the build stage: no host build');
    t.match(
      (await cli(dir, 'config')).stdout,
      'compose files: docker-compose.yml, docker-compose.dev.yml (COMPOSE_FILE)',
    );

    // Without COMPOSE_FILE, compose's default file: the prod stage, which copies the build's output.
    const prod = tempProject(t, { ...files, '.env': '' });
    t.equal((await init(prod)).exitCode, 0);
    const built = JSON.parse(readFileSync(path.join(prod, 'realstack.json'), 'utf8'));
    t.same(built.compose, { files: ['docker-compose.yml'] });
    t.same(built.services.api.entry, ['dist/index.js']);
    t.same(
      built.images.hostBuild.command,
      ['npm', 'run', 'build'],
      'COPY --from=build needs the build stage',
    );

    // Compose's own separator variable, and a file it names that is not there.
    const sep = tempProject(t, {
      ...files,
      '.env': 'COMPOSE_PATH_SEPARATOR=,\nCOMPOSE_FILE=docker-compose.yml,docker-compose.local.yml\n',
    });
    const missing = await init(sep);
    t.equal(missing.exitCode, 1, missing.all);
    t.match(
      missing.stderr,
      'COMPOSE_FILE=docker-compose.yml,docker-compose.local.yml names docker-compose.local.yml, which is not there',
    );
    t.notOk(hasStackTrace(missing.stderr));
    t.notOk(existsSync(path.join(sep, 'realstack.json')), 'nothing written');
  },
);

t.test('a Dockerfile that runs a compiler itself: npx tsc, in the package it builds', async (t) => {
  const root = tempProject(t, {
    'compose.yaml': "services:\n  api:\n    build: .\n    ports: ['3000']\n",
    Dockerfile:
      'FROM node:20 AS build\nWORKDIR /app\nCOPY package*.json ./\nRUN npm ci\nCOPY . .\nRUN npm ci && npx tsc -p tsconfig.build.json\nFROM node:20\nWORKDIR /app\nCOPY --from=build /app/dist ./dist\nCMD ["node", "dist/index.js"]\n',
    'package.json': JSON.stringify({ name: 'api' }),
    'tsconfig.build.json': '{}',
    'src/index.ts': '',
  });
  const res = await init(root);
  t.equal(res.exitCode, 0, res.all);
  t.same(JSON.parse(readFileSync(path.join(root, 'realstack.json'), 'utf8')).images.hostBuild, {
    command: ['npx', '--no-install', 'tsc', '-p', 'tsconfig.build.json'],
    inputs: ['package.json', 'src', 'tsconfig.build.json'],
    engines: ['process'],
  });
  t.match(res.all, 'the Dockerfile of api runs `npx tsc -p tsconfig.build.json`');

  // A workspace's package, built in its folder (the WORKDIR its package.json was copied to).
  const mono = tempProject(t, {
    'compose.yaml': "services:\n  api:\n    build: .\n    ports: ['3000']\n",
    Dockerfile:
      'FROM node:20\nWORKDIR /repo\nCOPY package.json ./\nCOPY apps/api/package.json apps/api/\nRUN npm ci\nCOPY . .\nWORKDIR /repo/apps/api\nRUN ./node_modules/.bin/tsc\nCMD ["node", "dist/index.js"]\n',
    'package.json': JSON.stringify({ name: 'mono', workspaces: ['apps/*'] }),
    'apps/api/package.json': JSON.stringify({ name: 'api' }),
    'apps/api/src/index.ts': '',
  });
  t.equal((await init(mono)).exitCode, 0);
  t.same(JSON.parse(readFileSync(path.join(mono, 'realstack.json'), 'utf8')).images.hostBuild.command, [
    'sh',
    '-c',
    'cd apps/api && npx --no-install tsc',
  ]);
});

t.test('the profiles of services an included file declares are started too', async (t) => {
  const dir = tempProject(t, {
    'compose.yaml': 'include: [tools/compose.yaml]\nservices:\n  db:\n    image: postgres:16\n',
    'tools/compose.yaml':
      'services:\n  admin:\n    image: node:20\n    profiles: [tools]\n    command: node admin.js\n',
  });
  const res = await init(dir);
  t.equal(res.exitCode, 0, res.all);
  const config = JSON.parse(readFileSync(path.join(dir, 'realstack.json'), 'utf8'));
  t.same(config.compose.profiles, ['tools']);
  t.same(Object.keys(config.services), ['db', 'admin']);
  t.match(res.all, 'profiles tools: every one is started');
});

t.test(
  "the sqlCleanup to add names a table and text column its PostgreSQL's init scripts create",
  async (t) => {
    const db = (mount: string) => `services:
  db:
    image: postgres:16
    environment:
      POSTGRES_PASSWORD: pw
    volumes:
      - ${mount}
`;
    const schema = `-- the app's tables
CREATE TABLE IF NOT EXISTS public.counters (id serial PRIMARY KEY, hits integer NOT NULL);
/* a table with text, a key that is text, and a constraint */
CREATE TABLE "accounts" (
  code varchar(12) PRIMARY KEY,
  display_name text NOT NULL,
  email character varying(200) UNIQUE,
  balance numeric(10, 2) DEFAULT 0,
  CONSTRAINT positive CHECK (balance >= 0)
);
`;
    const dir = tempProject(t, {
      'compose.yaml': db('./db:/docker-entrypoint-initdb.d:ro'),
      'db/01-schema.sql': schema,
    });
    t.match(
      (await init(dir, '--dry-run')).stderr,
      '"sqlCleanup": [{"table": "accounts", "column": "email"}] (rows whose value starts with TEST; accounts.email is a text column db/01-schema.sql creates;',
      'the first table with a text column, its email over its other text, never its key',
    );
    const none = tempProject(t, { 'compose.yaml': db('./data:/var/lib/postgresql/data') });
    t.match(
      (await init(none, '--dry-run')).stderr,
      'a table of yours and a text column your tests fill, such as: "sqlCleanup": [{"table": "users", "column": "email"}] (rows whose value starts with TEST; with test rows',
      'no init script and no migration: an example, said to be one',
    );
    const migrated = tempProject(t, {
      'compose.yaml': db('./data:/var/lib/postgresql/data'),
      'src/db/pool.js': 'module.exports = {};\n',
      'src/db/migrations/20240101120000_accounts.js': `exports.up = (knex) =>
  knex.schema.createTable('accounts', (t) => {
    t.string('email').primary();
    t.integer('balance');
    t.string('display_name').notNullable();
    t.text('bio');
  });
`,
    });
    t.match(
      (await init(migrated, '--dry-run')).stderr,
      '"sqlCleanup": [{"table": "accounts", "column": "display_name"}] (rows whose value starts with TEST; accounts.display_name is a text column src/db/migrations/20240101120000_accounts.js creates;',
      "a knex migration's table, found in the project's migrations folder, its text key passed over",
    );
  },
);

t.test('the migrations of the usual tools name their tables and text columns', async (t) => {
  const dir = tempProject(t, {
    'migrations/1700000000000_widgets.js': `exports.up = (pgm) => {
  pgm.createTable('widgets', {
    id: 'id',
    color: { type: 'varchar(20)' },
    title: { type: 'text', notNull: true },
  });
};
`,
    'migrations/short.js': "exports.up = (pgm) => pgm.createTable('tags', { id: 'id', label: 'text' });\n",
    'migrations/20240101-create-user.cjs': `module.exports = {
  up: (queryInterface, Sequelize) =>
    queryInterface.createTable('Users', {
      id: { type: Sequelize.INTEGER, primaryKey: true, autoIncrement: true },
      email: { type: Sequelize.STRING, primaryKey: true },
      username: { type: Sequelize.STRING, allowNull: false },
    }),
};
`,
    'src/migration/1712000000000-Init.ts': `export class Init1712000000000 {
  async up(queryRunner: { query(sql: string): Promise<void> }) {
    await queryRunner.query(\`CREATE TABLE "post" ("id" SERIAL NOT NULL, "headline" character varying NOT NULL, CONSTRAINT "PK_post" PRIMARY KEY ("id"))\`);
  }
}
`,
    'src/migrate.mjs': `await db.query(\`
  CREATE TABLE IF NOT EXISTS notes (id serial PRIMARY KEY, words integer, summary text)\`);
`,
    'src/server.mjs': 'await db.query(`CREATE TABLE IF NOT EXISTS hits (path text)`);\n',
    'src/db.ts': `export const pool = new pg.Pool();
export const migrate = () => pool.query(\`CREATE TABLE IF NOT EXISTS orders (
    id serial PRIMARY KEY,
    customer text NOT NULL
  )\`);
`,
    'src/db.test.ts': 'await pool.query(`CREATE TABLE probe (label text)`);\n',
    'prisma/migrations/20240101000000_init/migration.sql':
      'CREATE TABLE "Customer" (\n  "id" SERIAL NOT NULL,\n  "email" TEXT NOT NULL,\n  CONSTRAINT "Customer_pkey" PRIMARY KEY ("id")\n);\n',
  });
  const expected: [file: string, table: string, column: string, form: string][] = [
    ['migrations/1700000000000_widgets.js', 'widgets', 'title', 'node-pg-migrate'],
    ['migrations/short.js', 'tags', 'label', "node-pg-migrate's short form"],
    ['migrations/20240101-create-user.cjs', 'Users', 'username', 'Sequelize, its text key passed over'],
    ['src/migration/1712000000000-Init.ts', 'post', 'headline', "TypeORM's SQL"],
    ['src/migrate.mjs', 'notes', 'summary', "the project's own migration script"],
    ['src/db.ts', 'orders', 'customer', 'the module that opens the database and makes its tables'],
    ['prisma/migrations/20240101000000_init/migration.sql', 'Customer', 'email', "Prisma's SQL"],
  ];
  for (const [file, table, column, form] of expected)
    t.match(cleanupColumnIn([path.join(dir, file)]), { table, column }, form);
  t.same(
    migrationFiles(dir).map((f) => path.relative(dir, f)),
    [
      'migrations/1700000000000_widgets.js',
      'migrations/20240101-create-user.cjs',
      'migrations/short.js',
      'prisma/migrations/20240101000000_init/migration.sql',
      'src/db.ts',
      'src/migrate.mjs',
      'src/migration/1712000000000-Init.ts',
    ],
    'every migration the project has, in path order; no other source',
  );
});
