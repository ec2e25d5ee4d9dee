// biome-ignore-all lint/suspicious/noTemplateCurlyInString: the strings are compose syntax under test
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { loadStack } from '../src/stack/compose.js';
import { interpolate } from '../src/stack/interpolate.js';
import { root } from './helpers/cli.js';

t.test('interpolation follows compose: defaults, required, $$', async (t) => {
  const env = { SET: 'x', EMPTY: '' };
  t.equal(interpolate('${SET:-d}|${EMPTY:-d}|${UNSET:-d}', env), 'x|d|d');
  t.equal(interpolate('${EMPTY-d}|${UNSET-d}', env), '|d');
  t.equal(interpolate('$SET and $$SET and ${SET}', env), 'x and $SET and x');
  t.throws(() => interpolate('${UNSET:?give it a value}', env), {
    name: 'InterpolationError',
    message: 'UNSET must be set: give it a value',
  });
  t.equal(interpolate('127.0.0.1:${AUTH_PORT:-}:3000', {}), '127.0.0.1::3000');
});

t.test('the reference compose file reads as three services with roles, ports and source roots', async (t) => {
  const spec = loadStack([path.join(root, 'docker-compose.yml')], {});
  t.same(
    spec.services.map((s) => [s.name, s.role, s.containerPort, s.hostPort]),
    [
      ['postgres', 'postgres', 5432, undefined],
      ['auth', 'node', 3000, 4000],
      ['api', 'node', 3000, undefined],
    ],
  );
  const auth = spec.services.find((s) => s.name === 'auth');
  t.same(auth?.sourceRoot, { container: '/app', host: root.replace(/\/$/, '') });
  t.equal(auth?.healthPath, '/health');
  t.equal(auth?.knownPortVar, 'AUTH_PORT', 'auth must know its public URL: the toolkit chooses its port');
  t.same(auth?.dependsOn, ['postgres']);
  t.equal(auth?.stopGraceSeconds, 15);
  t.same(spec.volumes, ['pgdata']);
  t.equal(
    loadStack([path.join(root, 'docker-compose.yml')], { AUTH_PORT: '4100' }).services[1]?.hostPort,
    4100,
  );
});

t.test('a compose file that does not parse is reported with file and line', async (t) => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'realstack-compose-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'broken.yml');
  writeFileSync(file, 'services:\n  auth:\n    image: x\n   ports: [1\n');
  t.throws(() => loadStack([file], {}), {
    name: 'ComposeFileError',
    message: new RegExp(`${file}:4:\\d+: the compose file does not parse`),
  });
});
