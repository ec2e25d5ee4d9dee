import { readFileSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { packageClosure } from '../src/images/production-modules.js';
import { root } from './helpers/cli.js';

const lock = JSON.parse(readFileSync(path.join(root, 'package-lock.json'), 'utf8'));

t.test("a service's image gets its own and the kit's runtime packages, and no dev tools", async (t) => {
  const auth = packageClosure(lock, 'services/auth').packages;
  for (const pkg of ['node_modules/fastify', 'node_modules/pg', 'node_modules/jose', 'node_modules/dotenv']) {
    t.ok(auth.includes(pkg), `${pkg} included`);
  }
  for (const pkg of [
    'node_modules/tap',
    'node_modules/typescript',
    'node_modules/c8',
    'node_modules/dockerode',
  ]) {
    t.notOk(auth.includes(pkg), `${pkg} left out`);
  }
  t.ok(
    packageClosure(lock, 'services/api').packages.includes('node_modules/jose'),
    'api gets jose through the kit',
  );
  t.ok(
    auth.every((p) => !lock.packages[p].dev),
    'nothing marked dev in package-lock.json',
  );
});
