// What makes images per project and caches per content (src/images/): two checkouts of one
// tree hash the same, and never share a built service's tag.
import { cpSync, existsSync, mkdirSync, readFileSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { dockerEndpoint } from '../src/engine/docker.js';
import { dockerGet, inspectImage } from '../src/engine/docker-api.js';
import { registryHint } from '../src/images/build-failure.js';
import { hashContext, hashInputs, sentToBuild } from '../src/images/hash.js';
import { present, standInKind } from '../src/images/resolve.js';
import { INPUTS_LABEL, labelOf } from '../src/images/stand-ins.js';
import { builtImageTag } from '../src/images/state.js';
import { availableEngines, dockerSkipReason } from './helpers/engines.js';
import { tempProject } from './helpers/project.js';

t.test('the same tree in two places hashes the same; a changed file does not', async (t) => {
  const a = tempProject(t, {
    'images/node/Dockerfile': 'FROM x\n',
    'src/a.js': '1',
    '.dockerignore': 'secret\n',
    secret: 's',
  });
  const b = tempProject(t, {});
  cpSync(a, b, { recursive: true });
  const inputs = (dir: string) => hashInputs({ base: dir, files: [path.join(dir, 'images')], values: ['v'] });
  t.equal(inputs(a), inputs(b), 'paths enter the hash relative to the project');
  t.equal(hashContext(a), hashContext(b));
  const c = tempProject(t, {});
  cpSync(a, c, { recursive: true });
  cpSync(path.join(a, 'src/a.js'), path.join(c, 'secret'));
  t.equal(hashContext(c), hashContext(a), 'a file .dockerignore leaves out does not count');
  cpSync(path.join(c, 'secret'), path.join(c, 'src/b.js'));
  t.not(hashContext(c), hashContext(a), 'a file the build sends does');
});

t.test("realstack's outputs neither count nor are read twice: the context's stat cache", async (t) => {
  const dir = tempProject(t, { Dockerfile: 'FROM x\n', 'src/a.js': 'one' });
  const outputs = ['.realstack', 'coverage'].map((d) => path.join(dir, d));
  const cacheFile = path.join(dir, '.realstack', 'images', 'context.json');
  const hash = () => hashContext(dir, { cacheFile, skip: outputs });
  const first = hash();
  t.ok(existsSync(cacheFile), 'the cache is written inside the state folder, which does not count');
  mkdirSync(outputs[1] as string);
  writeFileSync(path.join(outputs[1] as string, 'lcov.info'), 'TN:');
  t.equal(hash(), first, 'a coverage report written meanwhile does not count');
  t.same(
    sentToBuild(dir, outputs),
    ['.realstack', 'coverage'],
    'with no .dockerignore, docker build gets them',
  );
  writeFileSync(path.join(dir, '.dockerignore'), '.realstack\ncoverage\n');
  t.same(sentToBuild(dir, outputs), [], 'once it names them, it does not');

  // Same size, new content, an mtime a moment after the cache was written: read again, not trusted.
  const before = hash();
  writeFileSync(path.join(dir, 'src/a.js'), 'two');
  t.not(hash(), before, 'a file changed right after the cache was written is read again');
  // An old mtime (and the cache written since): the stat alone says the file did not change.
  const old = new Date(Date.now() - 60_000);
  utimesSync(path.join(dir, 'src/a.js'), old, old);
  const settled = hash();
  const cached = JSON.parse(readFileSync(cacheFile, 'utf8')) as { files: Record<string, unknown[]> };
  cached.files['src/a.js'] = [...(cached.files['src/a.js'] ?? []).slice(0, 3), 'a stale hash'];
  writeFileSync(cacheFile, JSON.stringify(cached));
  t.not(hash(), settled, 'a file whose stat is unchanged is taken from the cache, not read');
  utimesSync(path.join(dir, 'src/a.js'), new Date(), new Date(Date.now() - 30_000));
  t.equal(hash(), settled, 'a new mtime makes it read again');

  // docker build sends a link as a link: what it points to is not in the context.
  const elsewhere = tempProject(t, { 'big/file': 'x' });
  symlinkSync(path.join(elsewhere, 'big'), path.join(dir, 'linked'));
  const linked = hash();
  writeFileSync(path.join(elsewhere, 'big/file'), 'changed');
  t.equal(hash(), linked, "a link's target is not followed");
});

t.test(
  'built images are tagged per project; stand-ins cover the official node, postgres, redis, nginx, mariadb and mysql images',
  async (t) => {
    t.not(builtImageTag('/home/a/shop', 'api'), builtImageTag('/home/b/shop', 'api'));
    t.match(builtImageTag('/home/a/shop', 'api'), /^realstack-shop-[0-9a-f]{6}\/api:local$/);
    t.equal(standInKind('node:22-alpine'), 'node');
    t.equal(standInKind('docker.io/library/postgres:15.6-alpine'), 'postgres');
    t.equal(standInKind('bitnami/postgresql:16'), undefined, 'not the official image: its variables differ');
    t.equal(standInKind('redis:7-alpine'), 'redis');
    t.equal(standInKind('nginx:alpine'), 'nginx');
    t.equal(standInKind('mysql:8'), 'mysql');
    t.equal(standInKind('mariadb:11'), 'mariadb');
    t.equal(standInKind('mongo:7'), undefined, 'no stand-in: an error that says what to do');
    t.equal(standInKind('constructor'), undefined, 'a name is not looked up on the prototype');
  },
);

// Outputs as compose v1's classic builder prints a failed RUN (npm's taken from this machine's
// own failed build: its proxy's certificate; yarn's and pnpm's as they word an unreachable registry).
const failedRun = (command: string, said: string) =>
  `Step 4/9 : RUN ${command}\n ---> Running in 6e5871c8eca8\n${said}\nService 'api' failed to build : The command '/bin/sh -c ${command}' returned a non-zero code: 1`;

t.test('a build whose package install cannot reach the registry says what to do instead', async (t) => {
  const npm = registryHint(
    failedRun(
      'npm ci --omit=dev',
      'npm error code SELF_SIGNED_CERT_IN_CHAIN\nnpm error request to https://registry.npmjs.org/ms failed, reason: self-signed certificate in certificate chain',
    ),
    'api',
  );
  t.match(
    npm,
    "The Dockerfile's `RUN npm ci --omit=dev` could not reach the package registry from inside the build (request to https://registry.npmjs.org/ms failed, reason: self-signed certificate in certificate chain)",
  );
  t.match(npm, 'set "hostModules": "." for api in realstack.json');
  t.match(npm, 'COPY build/api/node_modules ./node_modules');
  t.match(
    registryHint(
      failedRun(
        'yarn install --frozen-lockfile',
        'info There appears to be trouble with your network connection. Retrying...',
      ),
      'web',
    ),
    /`RUN yarn install --frozen-lockfile` could not reach [\s\S]* for web in realstack\.json/,
  );
  t.match(
    registryHint(
      failedRun(
        'pnpm install --prod',
        ' ERR_PNPM_META_FETCH_FAIL  GET https://registry.npmjs.org/ms: request to https://registry.npmjs.org/ms failed, reason: getaddrinfo EAI_AGAIN registry.npmjs.org',
      ),
      'web',
    ),
    'could not reach the package registry',
  );
  t.equal(
    registryHint(
      failedRun(
        'npm ci',
        'npm error `npm ci` can only install packages when your package.json and package-lock.json are in sync.',
      ),
      'api',
    ),
    undefined,
    'an install that failed for another reason gets no advice about registries',
  );
  t.equal(
    registryHint(failedRun('make assets', 'getaddrinfo ENOTFOUND cdn.example.com'), 'api'),
    undefined,
    'nor does a step that installs no packages',
  );
});

const daemon = (await availableEngines()).includes('docker');

t.test(
  "an up's image checks are plain GETs: an image's id and label, or none",
  { skip: daemon ? false : dockerSkipReason },
  async (t) => {
    const endpoint = dockerEndpoint(process.env);
    const listed = JSON.parse(await dockerGet(endpoint, '/images/json')) as {
      Id: string;
      RepoTags: string[] | null;
      Labels: Record<string, string> | null;
    }[];
    // An image realstack built (a stand-in, a service's), named by a tag with a slash in it.
    const tag = listed
      .filter((i) => i.Labels?.[INPUTS_LABEL])
      .flatMap((i) => i.RepoTags ?? [])
      .find((name) => name.includes('/'));
    if (!tag) return t.fail('no image realstack built is here: `npx realstack images` makes them');
    const image = listed.find((i) => i.RepoTags?.includes(tag));
    t.equal((await inspectImage(endpoint, tag))?.Id, image?.Id, `${tag} is found by its name`);
    t.ok(await present(endpoint, tag), 'and is present');
    t.equal(await labelOf(endpoint, tag), image?.Labels?.[INPUTS_LABEL], 'with the inputs it was built from');
    const missing = 'realstack/no-such-image:never';
    t.equal(await inspectImage(endpoint, missing), undefined, 'a missing image is none, not an error');
    t.notOk(await present(endpoint, missing), 'nor present');
    t.equal(await labelOf(endpoint, missing), undefined, 'and has no label');
  },
);
