import {
  existsSync,
  lstatSync,
  readFileSync,
  readlinkSync,
  renameSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import path from 'node:path';
import t, { type Test } from 'tap';
import { request } from 'undici';
import { type Install, installLayout, npmInstall, npmInstalls } from '../src/images/host-installs.js';
import { layoutFolders, stageInstall, stageLayout } from '../src/images/production-modules.js';
import { readDockerfile } from '../src/stack/dockerfile.js';
import { hasStackTrace, testRunId } from './helpers/cli.js';
import { availableEngines, dockerPassOnly, dockerSkipReason, processPassOnly } from './helpers/engines.js';
import { leftovers } from './helpers/leftovers.js';
import { linkedProject, tempProject } from './helpers/project.js';

// A Dockerfile's `RUN npm ci` where builds cannot reach the npm registry (src/images/host-installs.ts):
// the packages come from this machine's install, as package-lock.json lists them, through an
// image of their own, and the build's copy of the Dockerfile copies them where npm would have
// put them. The project below has a run-time package with a dependency and a platform binary
// npm skipped, and a dev tool with a command; its lock is written as npm writes one.
const lock = {
  name: 'web',
  version: '1.0.0',
  lockfileVersion: 3,
  requires: true,
  packages: {
    '': {
      name: 'web',
      version: '1.0.0',
      dependencies: { greet: '^1.0.0' },
      devDependencies: { devtool: '^1.0.0' },
    },
    'node_modules/greet': {
      version: '1.0.0',
      dependencies: { words: '^1.0.0' },
      optionalDependencies: { 'greet-darwin': '1.0.0' },
    },
    'node_modules/greet-darwin': { version: '1.0.0', optional: true, os: ['darwin'] },
    'node_modules/words': { version: '1.0.0' },
    'node_modules/devtool': { version: '1.0.0', dev: true, bin: { devtool: 'cli.js' } },
  },
};
const installed = {
  'package.json': JSON.stringify({
    name: 'web',
    version: '1.0.0',
    dependencies: lock.packages[''].dependencies,
  }),
  'package-lock.json': JSON.stringify(lock, null, 2),
  'node_modules/greet/package.json': '{"name": "greet", "version": "1.0.0", "main": "index.js"}',
  'node_modules/greet/index.js': "module.exports = (who) => require('words').hello + ', ' + who;\n",
  'node_modules/words/package.json': '{"name": "words", "version": "1.0.0"}',
  'node_modules/words/index.js': "exports.hello = 'hello';\n",
  'node_modules/devtool/package.json':
    '{"name": "devtool", "version": "1.0.0", "bin": {"devtool": "cli.js"}}',
  'node_modules/devtool/cli.js': "#!/usr/bin/env node\nconsole.log('built by devtool');\n",
};

// An npm workspaces project as npm installs one: apps/web needs the workspace packages/lib and
// words 2 (nested in its folder, since lib and the root have words 1), apps/other needs greet,
// and web and the root have a dev tool.
const workspacesLock = {
  name: 'shop',
  lockfileVersion: 3,
  requires: true,
  packages: {
    '': { name: 'shop', workspaces: ['apps/*', 'packages/*'], devDependencies: { devtool: '^1.0.0' } },
    'apps/web': {
      name: '@shop/web',
      version: '1.0.0',
      dependencies: { '@shop/lib': '1.0.0', words: '^2.0.0' },
      devDependencies: { devtool: '^1.0.0' },
    },
    'apps/web/node_modules/words': { version: '2.0.0' },
    'apps/other': { name: '@shop/other', version: '1.0.0', dependencies: { greet: '^1.0.0' } },
    'packages/lib': { name: '@shop/lib', version: '1.0.0', dependencies: { words: '^1.0.0' } },
    'node_modules/@shop/lib': { resolved: 'packages/lib', link: true },
    'node_modules/@shop/other': { resolved: 'apps/other', link: true },
    'node_modules/@shop/web': { resolved: 'apps/web', link: true },
    'node_modules/devtool': { version: '1.0.0', dev: true, bin: { devtool: 'cli.js' } },
    'node_modules/greet': { version: '1.0.0', dependencies: { words: '^1.0.0' } },
    'node_modules/words': { version: '1.0.0' },
  },
};
const workspacesInstalled = {
  'package.json': JSON.stringify({ name: 'shop', private: true, workspaces: ['apps/*', 'packages/*'] }),
  'package-lock.json': JSON.stringify(workspacesLock, null, 2),
  'apps/web/package.json': JSON.stringify({ name: '@shop/web', version: '1.0.0' }),
  'apps/web/server.cjs': `require('node:http')
  .createServer((q, s) =>
    s.end(JSON.stringify({ lib: require('@shop/lib')(), web: require('words').version })),
  )
  .listen(8080);
process.on('SIGTERM', () => process.exit(0));
`,
  'apps/web/node_modules/words/package.json': '{"name": "words", "version": "2.0.0"}',
  'apps/web/node_modules/words/index.js': "exports.version = '2';\n",
  'apps/other/package.json': JSON.stringify({ name: '@shop/other', version: '1.0.0' }),
  'packages/lib/package.json': JSON.stringify({ name: '@shop/lib', version: '1.0.0', main: 'index.js' }),
  'packages/lib/index.js': "module.exports = () => 'lib on words ' + require('words').version;\n",
  'node_modules/words/package.json': '{"name": "words", "version": "1.0.0"}',
  'node_modules/words/index.js': "exports.version = '1';\n",
  'node_modules/greet/package.json': '{"name": "greet", "version": "1.0.0"}',
  'node_modules/devtool/package.json':
    '{"name": "devtool", "version": "1.0.0", "bin": {"devtool": "cli.js"}}',
  'node_modules/devtool/cli.js': "#!/usr/bin/env node\nconsole.log('built by devtool');\n",
};

t.test('which RUN lines are npm installs of the package folder, and of which packages', async (t) => {
  const npmInstallKind = (command: string, nodeEnv?: string) => npmInstall(command, nodeEnv)?.packages;
  t.equal(npmInstallKind('npm ci'), 'all');
  t.equal(npmInstallKind('npm ci --omit=dev'), 'production');
  t.equal(npmInstallKind('npm ci --omit dev --no-audit'), 'production', 'a flag value as the next word');
  t.equal(npmInstallKind('npm install --production'), 'production');
  t.equal(
    npmInstallKind('npm ci', 'production'),
    'production',
    'NODE_ENV=production leaves dev packages out',
  );
  t.equal(npmInstallKind('npm ci --include=dev', 'production'), 'all', 'unless told otherwise');
  t.equal(npmInstallKind('npm install -g pm2'), undefined, 'a global tool is not the folder');
  t.equal(npmInstallKind('npm install left-pad'), undefined, 'nor is a package named');
  t.equal(npmInstallKind('npm run build'), undefined);
  t.same(npmInstall('npm ci --omit=dev -w apps/api'), { packages: 'production', workspaces: ['apps/api'] });
  t.same(
    npmInstall('npm ci --workspace=@shop/api --workspace packages/db --include-workspace-root'),
    { packages: 'all', workspaces: ['@shop/api', 'packages/db'], root: true },
    "npm's workspace flags, by folder or by name, as many as given",
  );
  t.same(npmInstall('npm ci --workspaces'), { packages: 'all', workspaces: 'every' });

  const dir = tempProject(t, {
    'package-lock.json': '{}',
    Dockerfile: `FROM node:20-alpine AS deps
WORKDIR /app
ENV NODE_ENV=production
COPY app/package.json app/package-lock.json ./
COPY app/packages/x/package.json packages/x/
RUN apk add --no-cache python3 && npm ci && npm cache clean --force
RUN npm ci | tee log
RUN cd sub && npm ci

FROM deps AS runtime
USER node
RUN npm ci --include=dev

FROM node:20-alpine AS late
COPY app/package.json /srv/
WORKDIR /srv
RUN npm ci
`,
  });
  const file = readDockerfile(path.join(dir, 'Dockerfile'));
  if (!file) throw new Error('no Dockerfile read');
  const found = npmInstalls(file, dir, dir);
  t.same(
    // What each RUN's stage copied in is the host build's (tests/init.test.ts).
    found.map(({ instruction: { copied: _, ...i } }) => ({ ...i, lines: undefined })),
    [
      {
        stage: 0,
        command: 'apk add --no-cache python3 && npm ci && npm cache clean --force',
        nodeEnv: 'production',
        packageDir: 'app',
        lines: undefined,
      },
      {
        stage: 1,
        command: 'npm ci --include=dev',
        nodeEnv: 'production',
        packageDir: 'app',
        user: 'node',
        lines: undefined,
      },
      { stage: 2, command: 'npm ci', packageDir: 'app', lines: undefined },
    ],
    "a pipe and a cd keep their RUN as written; a workspace's package.json in its own folder is not the folder's; a stage built FROM another starts from what it said; a package.json copied before the WORKDIR that names its folder",
  );
  t.same(found[0]?.parts, [
    { command: 'apk add --no-cache python3' },
    { command: 'npm ci', install: { packages: 'production' } },
    { command: 'npm cache clean --force' },
  ]);
  t.same(
    found.map((i) => [i.folder, i.lock]),
    [
      [path.join(dir, 'app'), path.join(dir, 'package-lock.json')],
      [path.join(dir, 'app'), path.join(dir, 'package-lock.json')],
      [path.join(dir, 'app'), path.join(dir, 'package-lock.json')],
    ],
    "each install's folder in the build context, and the lock above it that covers it",
  );
});

t.test(
  "the packages staged from this machine's install, as npm ci lays them out",
  { skip: processPassOnly() },
  async (t) => {
    const dir = tempProject(t, installed);
    const all = path.join(dir, 'out-all');
    const production = path.join(dir, 'out-production');
    t.equal(
      stageInstall(dir, '', all, { dev: true }),
      4,
      'greet, words, devtool and the skipped platform binary',
    );
    t.equal(stageInstall(dir, '', production), 3);
    t.ok(existsSync(path.join(all, 'node_modules/devtool/cli.js')), 'the dev tool with dev packages');
    t.notOk(existsSync(path.join(production, 'node_modules/devtool')), 'not without');
    t.ok(existsSync(path.join(production, 'node_modules/words/index.js')), 'a dependency of a dependency');
    t.notOk(
      existsSync(path.join(production, 'node_modules/greet-darwin')),
      'the binary npm skipped here is skipped',
    );
    const bin = path.join(all, 'node_modules/.bin/devtool');
    t.ok(lstatSync(bin).isSymbolicLink());
    t.equal(readlinkSync(bin), '../devtool/cli.js', 'node_modules/.bin as npm links it');

    // `npm link words`: the package is a link to a folder elsewhere on this machine, which an
    // image cannot follow; its files go in instead.
    const elsewhere = path.join(tempProject(t, {}), 'words');
    renameSync(path.join(dir, 'node_modules/words'), elsewhere);
    symlinkSync(elsewhere, path.join(dir, 'node_modules/words'));
    t.equal(stageInstall(dir, '', production), 3);
    t.notOk(
      lstatSync(path.join(production, 'node_modules/words')).isSymbolicLink(),
      'a folder, not the link',
    );
    t.ok(existsSync(path.join(production, 'node_modules/words/index.js')), 'with the linked folder’s files');

    writeFileSync(
      path.join(dir, 'package-lock.json'),
      JSON.stringify({
        ...lock,
        packages: {
          ...lock.packages,
          'node_modules/gone': { version: '1.0.0' },
          '': { ...lock.packages[''], dependencies: { greet: '^1.0.0', gone: '1' } },
        },
      }),
    );
    t.throws(
      () => stageInstall(dir, '', production),
      /node_modules\/gone is in .*package-lock\.json but not installed: run `npm ci` in /,
    );
  },
);

t.test(
  "a workspace's install (`npm ci -w`) at the lock's folder, laid out as npm lays it out there",
  { skip: processPassOnly() },
  async (t) => {
    const dir = tempProject(t, workspacesInstalled);
    const lock = path.join(dir, 'package-lock.json');
    const layout = (command: string) => installLayout(lock, dir, npmInstall(command) as Install, command);
    const web = layout('npm ci --omit=dev -w apps/web');
    t.same(
      [...web.packages.keys()],
      ['apps/web/node_modules/words', 'node_modules/words'],
      "its packages and its workspace's, each where npm put it",
    );
    t.same(
      Object.fromEntries(web.links),
      { 'node_modules/@shop/lib': 'packages/lib', 'node_modules/@shop/web': 'apps/web' },
      'links to the workspace and the workspaces it needs, none to the others',
    );
    t.same(layoutFolders(web), ['apps/web/node_modules', 'node_modules']);
    t.same(
      [...layout('npm ci -w @shop/web').packages.keys()],
      ['apps/web/node_modules/words', 'node_modules/devtool', 'node_modules/words'],
      'by package name, and its dev tools without --omit=dev',
    );
    t.same(
      [...layout('npm ci --omit=dev').packages.keys()],
      ['apps/web/node_modules/words', 'node_modules/greet', 'node_modules/words'],
      "a plain install at a workspaces root installs every workspace's packages",
    );
    t.throws(
      () => layout('npm ci -w apps/nope'),
      /`npm ci -w apps\/nope` names the workspace "apps\/nope", which .*package-lock\.json does not list \(its workspaces: apps\/web, apps\/other, packages\/lib\)/,
    );

    const out = path.join(dir, 'out');
    t.equal(stageLayout(web, out), 4);
    t.equal(
      readlinkSync(path.join(out, 'node_modules/@shop/lib')),
      '../../packages/lib',
      'links as npm makes them',
    );
    t.equal(
      readFileSync(path.join(out, 'apps/web/node_modules/words/index.js'), 'utf8'),
      "exports.version = '2';\n",
    );
  },
);

const skip = dockerPassOnly() || (!(await availableEngines()).includes('docker') && dockerSkipReason);

/**
 * A project's stack up on the docker engine where builds cannot reach the registry (port 9 of
 * the container itself: deterministic on any machine), with what its one service answers, and
 * a check that `down` leaves nothing of it.
 */
async function upWithoutRegistry(t: Test, files: Record<string, string>) {
  const id = testRunId('hi');
  const { dir, realstack } = linkedProject(t, files, id);
  const env = { REALSTACK_ENGINE: 'docker', npm_config_registry: 'http://127.0.0.1:9/' };
  t.teardown(() => realstack(['down'], env));
  const up = await realstack(['up'], env);
  t.equal(up.exitCode, 0, up.stderr);
  t.notOk(hasStackTrace(up.stderr));
  const ps = JSON.parse((await realstack(['ps', '--json'], env)).stdout) as { services: { url: string }[] };
  const answer = await (await request(ps.services[0]?.url as string)).body.json();
  const downClean = async () => {
    const down = await realstack(['down'], env);
    t.equal(down.exitCode, 0, down.stderr);
    t.same(await leftovers(id, [], dir), [], 'nothing of the run is left');
  };
  return { dir, realstack, env, up, answer, downClean };
}

t.test(
  "docker engine: `RUN npm ci` in two stages, built where the registry is out of reach, from this machine's packages",
  { skip },
  async (t) => {
    const dockerfile = `FROM node:20-alpine AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci && node node_modules/.bin/devtool > built.txt

FROM node:20-alpine
ENV NODE_ENV=production
WORKDIR /app
COPY package*.json ./
USER node
RUN npm ci && test ! -e node_modules/devtool
COPY --from=build /app/built.txt ./
COPY server.cjs worker.cjs ./
CMD ["node", "server.cjs"]
`;
    const { dir, realstack, env, up, answer, downClean } = await upWithoutRegistry(t, {
      ...installed,
      // The worker shares web's build through an anchor, as a compose file's api and worker often do.
      'docker-compose.yml': `x-app: &app
  build: .
services:
  web:
    <<: *app
    ports: ["8080"]
  worker:
    <<: *app
    command: ["node", "worker.cjs"]
`,
      'worker.cjs':
        "require('greet');\nsetInterval(() => {}, 1000);\nprocess.on('SIGTERM', () => process.exit(0));\n",
      Dockerfile: dockerfile,
      '.dockerignore': 'node_modules\n.realstack\n',
      'server.cjs': `const fs = require('node:fs');
require('node:http')
  .createServer((q, s) =>
    s.end(JSON.stringify({
      greeting: require('greet')('TEST'),
      built: fs.readFileSync('built.txt', 'utf8').trim(),
      devtool: fs.existsSync('node_modules/devtool'),
      mine: fs.statSync('node_modules/greet').uid === process.getuid(),
    })),
  )
  .listen(8080);
process.on('SIGTERM', () => process.exit(0));
`,
    });
    t.match(
      up.stderr,
      "web: builds here cannot reach http://127.0.0.1:9/, so its Dockerfile's npm installs come from this machine's",
    );
    const copy = readFileSync(path.join(dir, '.realstack/images/web.Dockerfile'), 'utf8');
    t.match(
      copy,
      /COPY --from=realstack-[^/]+\/web-packages:local \/packages\/[0-9a-f]+\/node_modules \.\/node_modules\nRUN node node_modules\/\.bin\/devtool > built\.txt/,
      'the rest of the RUN is kept, after the copy',
    );
    t.match(
      copy,
      /COPY --from=realstack-[^/]+\/web-packages:local --chown=node \/packages\/[0-9a-f]+\/node_modules \.\/node_modules\nRUN test ! -e node_modules\/devtool/,
      "the stage's USER owns them, as it would have",
    );
    t.equal(
      readFileSync(path.join(dir, 'Dockerfile'), 'utf8'),
      dockerfile,
      "the user's Dockerfile is unchanged",
    );

    t.same(
      answer,
      { greeting: 'hello, TEST', built: 'built by devtool', devtool: false, mine: true },
      'the service runs on the packages, without the dev tool',
    );

    t.equal(
      up.stderr.match(/ build realstack-\S+:local \(service [^)]*\): done/g)?.length,
      1,
      'one build for both',
    );
    t.match(
      up.stderr,
      /worker:local: the image of realstack-[^/]+\/web:local, whose build is the same/,
      "the worker's tag is web's image",
    );
    t.notMatch(up.stderr, /stage this machine's packages for worker/, 'whose packages are staged once');
    const ps = JSON.parse((await realstack(['ps', '--json'], env)).stdout) as {
      services: { name: string; instances: { state: string }[] }[];
    };
    t.same(
      ps.services.map((s) => [s.name, s.instances.map((i) => i.state)]),
      [
        ['web', ['running']],
        ['worker', ['running']],
      ],
      'the worker runs its own command from that image',
    );

    const again = await realstack(['images'], env);
    t.match(again.stderr, /web:local: up to date/, 'built once');
    t.match(again.stderr, /worker:local: up to date/);
    t.notMatch(again.stderr, /cannot reach/, 'an image up to date asks no container about the registry');
    await downClean();
  },
);

t.test(
  "docker engine: a workspace's `RUN npm ci --omit=dev -w apps/web`, built where the registry is out of reach",
  { skip },
  async (t) => {
    const { dir, answer, downClean } = await upWithoutRegistry(t, {
      ...workspacesInstalled,
      'docker-compose.yml':
        'services:\n  web:\n    build:\n      context: .\n      dockerfile: apps/web/Dockerfile\n    ports: ["8080"]\n',
      'apps/web/Dockerfile': `FROM node:20-alpine
WORKDIR /app
COPY package.json package-lock.json ./
COPY apps/web/package.json apps/web/
COPY packages/lib/package.json packages/lib/
RUN npm ci --omit=dev -w apps/web
COPY packages/lib packages/lib
COPY apps/web apps/web
CMD ["node", "apps/web/server.cjs"]
`,
      '.dockerignore': '**/node_modules\n.realstack\n',
    });
    t.match(
      readFileSync(path.join(dir, '.realstack/images/web.Dockerfile'), 'utf8'),
      /COPY --from=\S+ \/packages\/[0-9a-f]+\/apps\/web\/node_modules \.\/apps\/web\/node_modules\nCOPY --from=\S+ \/packages\/[0-9a-f]+\/node_modules \.\/node_modules\n/,
      'one COPY per folder npm fills',
    );
    t.same(
      answer,
      { lib: 'lib on words 1', web: '2' },
      'the workspace link resolves, and each package finds its own words',
    );
    await downClean();
  },
);

t.test(
  'docker engine: an install realstack cannot serve, where builds cannot reach the registry, fails at once and says what to do',
  { skip },
  async (t) => {
    const { realstack } = linkedProject(
      t,
      {
        'docker-compose.yml': 'services:\n  web:\n    build: .\n',
        Dockerfile:
          'FROM node:20-alpine\nWORKDIR /app\nCOPY package.json yarn.lock ./\nRUN yarn install --frozen-lockfile\n',
        'package.json': '{"name": "web", "private": true}',
        'yarn.lock': '',
      },
      testRunId('hi'),
    );
    const images = await realstack(['images'], {
      REALSTACK_ENGINE: 'docker',
      npm_config_registry: 'http://127.0.0.1:9/',
    });
    t.not(images.exitCode, 0);
    t.match(
      images.stderr,
      'service "web": its Dockerfile\'s `RUN yarn install --frozen-lockfile` needs the package registry, and builds here cannot reach http://127.0.0.1:9/',
    );
    t.match(
      images.stderr,
      'yarn itself comes from the registry (corepack fetches it), so every RUN that calls it needs the registry: run `yarn install` and the build here, and let the image COPY what they made',
      "yarn's install has no package-lock.json to stage from: the advice is yarn's",
    );
    t.notMatch(images.stderr, /hostModules/);
    t.notMatch(images.stderr, /build realstack-\S+\/web:local \(service web/, 'no build started');
    t.notOk(hasStackTrace(images.stderr));
  },
);

t.test('a wrong images.hostInstalls is named', { skip: processPassOnly() }, async (t) => {
  const { realstack } = linkedProject(
    t,
    {
      'docker-compose.yml': 'services:\n  web:\n    image: node:20\n',
      'realstack.json': '{"images": {"hostInstalls": "sometimes"}}',
    },
    testRunId('hi'),
  );
  const ps = await realstack(['ps']);
  t.not(ps.exitCode, 0);
  t.match(ps.stderr, /hostInstalls.*must be "auto", "always" or "never"/);
  t.notOk(hasStackTrace(ps.stderr));
});
