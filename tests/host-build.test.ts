import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { loadToolkitConfig } from '../src/config/toolkit.js';
import { runHostBuild } from '../src/images/host-build.js';
import { exitedZero, hasStackTrace, root, run, testRunId } from './helpers/cli.js';
import { processPassOnly } from './helpers/engines.js';
import { leftovers } from './helpers/leftovers.js';
import { linkedProject, tempProject, tinyService } from './helpers/project.js';
import { until } from './helpers/wait.js';

// A project's host build (realstack.json images.hostBuild, src/images/host-build.ts) runs
// before a stack starts, only when its inputs changed, and once when two commands of the
// project start together (CI builds the images beside the process engine's run).
const compose = `services:
  web:
    image: node:20
    working_dir: /app
    volumes: [".:/app"]
    command: ["node", "dist/server.cjs"]
    environment:
      PORT: 8080
    ports: ["8080"]
`;
// It logs each start, holds until the test writes "release", then copies src to dist; a file
// src/broken makes it fail as a compiler does.
const build = `const fs = require('node:fs');
fs.appendFileSync('build.log', 'start\\n');
if (fs.existsSync('src/broken')) {
  console.error('src/broken: unexpected token');
  process.exit(2);
}
const finish = () => {
  if (!fs.existsSync('release')) return setTimeout(finish, 20);
  fs.mkdirSync('dist', { recursive: true });
  fs.copyFileSync('src/server.cjs', 'dist/server.cjs');
};
finish();
`;
const config = { images: { hostBuild: { command: 'node build.cjs', inputs: ['src'] } } };

t.test(
  'process engine: the host build runs once for two commands started together, again only when its inputs change',
  { skip: processPassOnly() },
  async (t) => {
    const id = testRunId('hb');
    const other = testRunId('hb');
    const { dir, realstack } = linkedProject(
      t,
      {
        'docker-compose.yml': compose,
        'realstack.json': JSON.stringify(config),
        'build.cjs': build,
        'src/server.cjs': tinyService(),
      },
      id,
    );
    t.teardown(async () => {
      await realstack(['down']);
      await realstack(['down'], { REALSTACK_RUN_ID: other });
    });
    const builds = () => readFileSync(path.join(dir, 'build.log'), 'utf8').split('\n').filter(Boolean).length;

    const first = realstack(['up']);
    await until(() => existsSync(path.join(dir, 'build.log')), 'the first up starts the build');
    const second = realstack(['up'], { REALSTACK_RUN_ID: other });
    let said = '';
    for (const stream of [second.stdout, second.stderr])
      stream?.on('data', (chunk: Buffer) => {
        said += chunk;
      });
    await until(() => /waiting for process \d+, which runs it/.test(said), 'the second up waits for it');
    writeFileSync(path.join(dir, 'release'), '');
    const [a, b] = await Promise.all([first, second]);
    exitedZero(t, a, 'the first up is ready');
    exitedZero(t, b, 'the second up is ready');
    t.equal(builds(), 1, 'the build ran once');
    t.match(b.all, 'host build (node build.cjs): up to date', 'the second found it built');
    for (const run of [id, other])
      t.equal((await realstack(['down'], { REALSTACK_RUN_ID: run })).exitCode, 0);

    const again = await realstack(['up']);
    t.equal(again.exitCode, 0);
    t.equal(builds(), 1, 'nothing changed: no build');
    t.equal((await realstack(['down'])).exitCode, 0);

    writeFileSync(path.join(dir, 'src/server.cjs'), tinyService('    // changed\n'));
    const changed = await realstack(['up']);
    t.equal(changed.exitCode, 0);
    t.equal(builds(), 2, 'an input changed: built again');
    t.equal((await realstack(['down'])).exitCode, 0);

    writeFileSync(path.join(dir, 'src/broken'), '');
    const broken = await realstack(['up']);
    t.equal(broken.exitCode, 1, 'a failed build stops the up');
    t.match(broken.stderr, /the host build \(realstack\.json images\.hostBuild\) failed/);
    t.match(broken.stderr, 'src/broken: unexpected token', "the build's own output");
    t.notOk(hasStackTrace(broken.stderr), 'no stack trace');
    t.same(await leftovers(id, [], dir), [], 'nothing of the run is left');
  },
);

// A Dockerfile that builds its own dist/ (the usual two stages, dist/ kept out of the context):
// the process engine runs the services from this machine's files, which may hold no dist/ at all.
t.test(
  "process engine: init takes the host build from the Dockerfile's `RUN npm run build`, and the first up builds what the image builds",
  { skip: processPassOnly() },
  async (t) => {
    const id = testRunId('hbi');
    const { dir, realstack } = linkedProject(
      t,
      {
        'docker-compose.yml': `services:
  web:
    build: .
    environment:
      PORT: 8080
    ports: ["8080:8080"]
`,
        Dockerfile: `FROM node:20-slim AS builder
WORKDIR /usr/src/app
COPY package*.json ./
RUN npm ci
COPY . .
RUN npm run build

FROM node:20-slim
WORKDIR /usr/src/app
COPY --from=builder /usr/src/app/dist ./dist
CMD ["node", "dist/server.cjs"]
`,
        '.dockerignore': 'node_modules\ndist\n',
        'package.json': JSON.stringify({
          name: 'web',
          scripts: { build: 'node build.cjs', start: 'node dist/server.cjs' },
        }),
        'build.cjs':
          "require('node:fs').mkdirSync('dist', { recursive: true });\nrequire('node:fs').copyFileSync('src/server.cjs', 'dist/server.cjs');\n",
        'src/server.cjs': tinyService(),
        'test/web.test.mjs': 'import t from "tap";\nt.pass("the project\'s own test");\n',
      },
      id,
    );
    t.teardown(() => realstack(['down']));
    const init = await realstack(['init']);
    t.equal(init.exitCode, 0, init.all);
    t.match(
      init.all,
      'host build `npm run build` before a stack starts, whenever build.cjs, package.json, src changed (the Dockerfile of web runs `npm run build`',
    );
    const config = JSON.parse(readFileSync(path.join(dir, 'realstack.json'), 'utf8'));
    t.same(
      config.images,
      {
        hostBuild: {
          command: ['npm', 'run', 'build'],
          inputs: ['build.cjs', 'package.json', 'src'],
          engines: ['process'],
        },
      },
      'its inputs: what the build reads, not the Dockerfile, the compose file, tests or node_modules',
    );
    t.notOk(existsSync(path.join(dir, 'dist')), 'no dist/ on this machine yet');

    const up = await realstack(['up']);
    t.equal(up.exitCode, 0, up.all);
    t.match(up.all, 'host build: npm run build', 'the build ran before the stack started');
    t.ok(existsSync(path.join(dir, 'dist/server.cjs')), 'it made dist/');
    t.match(up.all, /web-1 +running, healthy/, 'the service runs from it');
    t.equal((await realstack(['down'])).exitCode, 0);
    const again = await realstack(['up']);
    t.match(again.all, 'host build (npm run build): up to date', 'its own output changes no input');
    t.equal((await realstack(['down'])).exitCode, 0);

    // The docker engine's images build it themselves: the host build is not theirs to run.
    rmSync(path.join(dir, 'dist'), { recursive: true });
    const said: string[] = [];
    await runHostBuild(loadToolkitConfig(dir, { PATH: process.env.PATH }), (l) => said.push(l), 'docker');
    t.same(said, ['host build (npm run build): not for the docker engine (images.hostBuild.engines)']);
    t.notOk(existsSync(path.join(dir, 'dist')), 'nothing built');
    t.same(await leftovers(id, [], dir), [], 'nothing of the run is left');
  },
);

// A pnpm monorepo as such projects are built: the Dockerfile copies the repository to /repo in a
// build stage and builds the api and what it depends on with pnpm's --filter, and the image takes
// the repository from that stage and runs in apps/api.
t.test(
  "a pnpm monorepo: init reads the filtered build and the repository's place in the image; a build that writes into its inputs is up to date after it",
  { skip: processPassOnly() },
  async (t) => {
    const dir = tempProject(t, {
      'docker-compose.yml': 'services:\n  api:\n    build: .\n    ports: ["3000"]\n',
      Dockerfile: `FROM node:20-slim AS build
WORKDIR /repo
COPY . .
RUN corepack enable && pnpm install --frozen-lockfile
RUN pnpm --filter @mono/api... build

FROM node:20-slim
WORKDIR /repo
COPY --from=build /repo .
WORKDIR /repo/apps/api
CMD ["node", "dist/server.js"]
`,
      'package.json': '{"name": "mono", "private": true}',
      'pnpm-workspace.yaml': 'packages:\n  - "apps/*"\n  - "packages/*"\n',
      'apps/api/package.json': '{"name": "@mono/api", "scripts": {"build": "tsc -p ."}}',
      'apps/api/src/server.ts': "app.get('/health', () => 'ok');\n",
      'packages/shared/package.json': '{"name": "@mono/shared", "scripts": {"build": "tsc -p ."}}',
      'packages/shared/src/index.ts': 'export const x = 1;\n',
    });
    const init = await run(process.execPath, [path.join(root, 'bin/realstack.js'), 'init'], {
      cwd: dir,
      env: { PATH: process.env.PATH },
      extendEnv: false,
    });
    t.equal(init.exitCode, 0, init.all);
    t.match(init.stderr, 'api: source root /repo = . (its build context, copied to /repo;');
    t.match(init.stderr, 'api: entry apps/api/dist/server.js');
    const hostBuild = JSON.parse(readFileSync(path.join(dir, 'realstack.json'), 'utf8')).images.hostBuild;
    t.same(hostBuild.command, ['pnpm', '--filter', '@mono/api...', 'build'], "pnpm's selection kept");
    t.ok(hostBuild.inputs.includes('packages'), 'the workspace packages are inputs');

    // The same inputs, built by a command that writes a workspace package's dist/ among them.
    writeFileSync(
      path.join(dir, 'build.cjs'),
      "const fs = require('node:fs');\nfs.appendFileSync('build.log', 'start\\n');\nfs.mkdirSync('packages/shared/dist', { recursive: true });\nfs.writeFileSync('packages/shared/dist/index.js', 'exports.x = 1;\\n');\n",
    );
    writeFileSync(
      path.join(dir, 'realstack.json'),
      JSON.stringify({ images: { hostBuild: { command: 'node build.cjs', inputs: hostBuild.inputs } } }),
    );
    const said: string[] = [];
    const build = () =>
      runHostBuild(loadToolkitConfig(dir, { PATH: process.env.PATH }), (l) => said.push(l), 'process');
    const builds = () => readFileSync(path.join(dir, 'build.log'), 'utf8').split('\n').filter(Boolean).length;
    await build();
    await build();
    t.equal(
      builds(),
      1,
      'its own output among its inputs is no change: one build, not one more on the next run',
    );
    t.match(said.at(-1), 'host build (node build.cjs): up to date');
    writeFileSync(path.join(dir, 'packages/shared/src/index.ts'), 'export const x = 2;\n');
    await build();
    await build();
    t.equal(builds(), 2, 'a source changed: built again, once');
  },
);
