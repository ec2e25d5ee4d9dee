// Compose v1 is a Python program that imports `distutils`; where setuptools is installed, its
// stand-in of distutils loads all of setuptools first (src/engine/compose-cli.ts). realstack
// runs compose v1 with the standard library's distutils where its Python has one, and leaves
// any other compose as it is.
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { composeV1Env, findComposeCli } from '../src/engine/compose-cli.js';
import { run } from './helpers/cli.js';
import { tempProject } from './helpers/project.js';

/** A Python install of its own (`bin/python3.N`, and its standard library's distutils or not), with a compose script on it. */
function python(t: Parameters<typeof tempProject>[0], version: string, distutils: boolean, shebang?: string) {
  const dir = tempProject(t, {});
  const bin = path.join(dir, 'bin', `python${version}`);
  mkdirSync(path.dirname(bin), { recursive: true });
  writeFileSync(bin, '#!/bin/sh\n');
  chmodSync(bin, 0o755);
  if (distutils) {
    mkdirSync(path.join(dir, 'lib', `python${version}`, 'distutils'), { recursive: true });
    writeFileSync(path.join(dir, 'lib', `python${version}`, 'distutils', '__init__.py'), '');
  }
  const script = path.join(dir, 'bin', 'docker-compose');
  writeFileSync(script, `${shebang ?? `#!${bin}`}\nfrom compose.cli.main import main\n`);
  chmodSync(script, 0o755);
  return { script, bin: path.join(dir, 'bin') };
}

t.test('the standard library distutils where the Python compose runs on has one', async (t) => {
  const stdlib = { SETUPTOOLS_USE_DISTUTILS: 'stdlib' };
  t.same(composeV1Env(python(t, '3.11', true).script, {}), stdlib, 'Python 3.11 has it');
  t.same(composeV1Env(python(t, '3.12', false).script, {}), {}, 'Python 3.12 has none: nothing changes');
  const viaEnv = python(t, '3.10', true, '#!/usr/bin/env python3.10');
  t.same(
    composeV1Env(viaEnv.script, { PATH: viaEnv.bin }),
    stdlib,
    '#!/usr/bin/env python3.10, found on the PATH',
  );
  t.same(
    composeV1Env(python(t, '3.11', true).script, { SETUPTOOLS_USE_DISTUTILS: 'local' }),
    {},
    "the user's own setting stands",
  );
  t.same(composeV1Env(python(t, '3.11', true, '#!/bin/sh').script, {}), {}, 'a compose that is not Python');
  t.same(composeV1Env('/no/such/docker-compose', {}), {}, 'nor one that cannot be read');
});

t.test('compose v1 here runs with it, and without loading setuptools', async (t) => {
  const cli = await findComposeCli(process.env);
  if (cli.version !== 1 || !cli.env.SETUPTOOLS_USE_DISTUTILS) {
    t.same(cli.env, {}, `compose v${cli.version} here runs as it is`);
    return;
  }
  const env = { ...process.env, ...cli.env };
  const version = await run(cli.command, [...cli.prefix, 'version', '--short'], { env });
  t.equal(version.exitCode, 0, version.all);
  t.match(version.stdout, /^1\.\d+\.\d+/, 'it says its version');
  // Python's own account of what a start imports.
  const traced = await run(cli.command, ['version', '--short'], {
    env: { ...env, PYTHONPROFILEIMPORTTIME: '1' },
  });
  t.match(traced.stderr, /import time: .*\| +compose\.cli\./, 'compose was loaded');
  t.notMatch(traced.stderr, /\| +setuptools/, 'and setuptools was not');
});
