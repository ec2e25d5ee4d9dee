// `realstack init` in projects of its own: what it writes, what it keeps, what it says.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { justfile } from '../src/init/templates.js';
import { hasStackTrace, root, run } from './helpers/cli.js';
import { tempProject } from './helpers/project.js';

const init = (dir: string, ...args: string[]) =>
  run(process.execPath, [path.join(root, 'bin/realstack.js'), 'init', ...args], {
    cwd: dir,
    env: { PATH: process.env.PATH, HOME: process.env.HOME },
    extendEnv: false,
  });

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
    "node_modules\n/coverage/\n# realstack's outputs\n.realstack/\n/test-results/\n.tap/\n",
    'only the missing lines, appended',
  );
  t.equal(
    readFileSync(path.join(dir, '.dockerignore'), 'utf8'),
    "node_modules\ncoverage/\n# realstack's outputs (runs, logs, generated secrets, reports) stay out of images\n.realstack\ntest-results\n.tap\n",
    'the .dockerignore keeps its lines and gets only those it lacks',
  );
  t.notMatch(res.stderr, /rust-just/, 'just is there already');
});

t.test(
  "a context's node_modules sent to a build that installs its own is named, once ignored no more",
  async (t) => {
    const dir = tempProject(t, {
      'compose.yaml': compose,
      Dockerfile:
        'FROM node:22-slim\nWORKDIR /srv\nCOPY . .\nRUN npm ci --omit=dev\nCMD ["node", "main.js"]\n',
      'node_modules/left-pad/package.json': '{"name": "left-pad"}',
    });
    const res = await init(dir, '--dry-run');
    t.equal(res.exitCode, 0, res.all);
    t.match(
      res.stderr,
      "node_modules goes to every build of api, whose Dockerfile installs its own packages: add node_modules to .dockerignore (a COPY . . after the install would also put this machine's packages over the image's)",
    );
    writeFileSync(path.join(dir, '.dockerignore'), 'node_modules\n');
    t.notMatch((await init(dir, '--dry-run')).stderr, /goes to every build/);
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
