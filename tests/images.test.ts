// What makes images per project and caches per content (src/images/): two checkouts of one
// tree hash the same, and never share a built service's tag.
import { cpSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { hashContext, hashInputs } from '../src/images/hash.js';
import { standInKind } from '../src/images/resolve.js';
import { builtImageTag } from '../src/images/state.js';
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
