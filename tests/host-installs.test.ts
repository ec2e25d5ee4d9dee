import { existsSync, lstatSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { request } from 'undici';
import { npmInstallKind, npmInstalls } from '../src/images/host-installs.js';
import { stageInstall } from '../src/images/production-modules.js';
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

t.test('which RUN lines are npm installs of the package folder, and of which packages', async (t) => {
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

  const dir = tempProject(t, {
    'package-lock.json': '{}',
    Dockerfile: `FROM node:20-alpine AS deps
WORKDIR /app
ENV NODE_ENV=production
COPY app/package.json app/package-lock.json ./
RUN apk add --no-cache python3 && npm ci && npm cache clean --force
RUN npm ci | tee log
RUN cd sub && npm ci

FROM deps AS runtime
USER node
RUN npm ci --include=dev
`,
  });
  const file = readDockerfile(path.join(dir, 'Dockerfile'));
  if (!file) throw new Error('no Dockerfile read');
  const found = npmInstalls(file, dir, dir);
  t.same(
    found.map((i) => ({ ...i.instruction, lines: undefined })),
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
    ],
    'a pipe and a cd keep their RUN as written; a stage built FROM another starts from what it said',
  );
  t.same(found[0]?.parts, [
    { command: 'apk add --no-cache python3' },
    { command: 'npm ci', install: 'production' },
    { command: 'npm cache clean --force' },
  ]);
  t.same(
    found.map((i) => [i.folder, i.lock]),
    [
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

const skip = dockerPassOnly() || (!(await availableEngines()).includes('docker') && dockerSkipReason);

t.test(
  "docker engine: `RUN npm ci` in two stages, built where the registry is out of reach, from this machine's packages",
  { skip },
  async (t) => {
    const id = testRunId('hi');
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
COPY server.cjs ./
CMD ["node", "server.cjs"]
`;
    const { dir, realstack } = linkedProject(
      t,
      {
        ...installed,
        'docker-compose.yml': 'services:\n  web:\n    build: .\n    ports: ["8080"]\n',
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
      },
      id,
    );
    // A registry no container reaches: port 9 of the container itself.
    const env = { REALSTACK_ENGINE: 'docker', npm_config_registry: 'http://127.0.0.1:9/' };
    t.teardown(() => realstack(['down'], env));
    const up = await realstack(['up'], env);
    t.equal(up.exitCode, 0, up.stderr);
    t.notOk(hasStackTrace(up.stderr));
    t.match(
      up.stderr,
      "web: builds here cannot reach http://127.0.0.1:9/, so its Dockerfile's npm installs come from this machine's",
    );
    const copy = readFileSync(path.join(dir, '.realstack/images/web.Dockerfile'), 'utf8');
    t.match(
      copy,
      /COPY --from=realstack-[^/]+\/web-packages:local \/packages\/all\/node_modules \.\/node_modules\nRUN node node_modules\/\.bin\/devtool > built\.txt/,
      'the rest of the RUN is kept, after the copy',
    );
    t.match(
      copy,
      /COPY --from=realstack-[^/]+\/web-packages:local --chown=node \/packages\/production\/node_modules \.\/node_modules\nRUN test ! -e node_modules\/devtool/,
      "the stage's USER owns them, as it would have",
    );
    t.equal(
      readFileSync(path.join(dir, 'Dockerfile'), 'utf8'),
      dockerfile,
      "the user's Dockerfile is unchanged",
    );

    const ps = JSON.parse((await realstack(['ps', '--json'], env)).stdout) as { services: { url: string }[] };
    const res = await request(ps.services[0]?.url as string);
    t.same(
      await res.body.json(),
      { greeting: 'hello, TEST', built: 'built by devtool', devtool: false, mine: true },
      'the service runs on the packages, without the dev tool',
    );

    const again = await realstack(['images'], env);
    t.match(again.stderr, /web:local: up to date/, 'built once');
    t.notMatch(again.stderr, /cannot reach/, 'an image up to date asks no container about the registry');
    const down = await realstack(['down'], env);
    t.equal(down.exitCode, 0, down.stderr);
    t.same(await leftovers(id, [], dir), [], 'nothing of the run is left');
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
    t.match(images.stderr, 'set "hostModules": "." for web in realstack.json');
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
