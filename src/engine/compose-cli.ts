import { accessSync, closeSync, constants, existsSync, openSync, readSync, realpathSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { UserError } from '../errors.js';

/** The compose CLI found on this machine: v2 as a docker plugin, else v1's docker-compose. */
export interface ComposeCli {
  version: 1 | 2;
  command: string;
  prefix: string[];
  /** Variables its runs are given, over the environment's. */
  env: Record<string, string>;
}

const executable = (file: string): boolean => {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
};

const onPath = (command: string, env: NodeJS.ProcessEnv): string | undefined =>
  (env.PATH ?? '')
    .split(path.delimiter)
    .map((dir) => dir && path.join(dir, command))
    .find((file) => file && executable(file));

/** A script's interpreter, from its `#!` line (`#!/usr/bin/python3`, `#!/usr/bin/env python3`). */
function interpreter(script: string, env: NodeJS.ProcessEnv): string | undefined {
  const head = Buffer.alloc(128);
  let fd: number | undefined;
  try {
    fd = openSync(script, 'r');
    const line = head.subarray(0, readSync(fd, head)).toString('latin1').split('\n')[0] ?? '';
    const [bin, arg] = line.replace(/^#!\s*/, '').split(/\s+/);
    if (!line.startsWith('#!') || !bin) return undefined;
    return path.basename(bin) === 'env' && arg ? onPath(arg, env) : bin;
  } catch {
    return undefined;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/**
 * What compose v1 (a Python program) is run with. It imports `distutils`, which setuptools
 * replaces with its own where it is installed: importing setuptools is 0.15 s of CPU, and half
 * of compose's start here. Where the Python it runs on has the standard library's own (3.11 and
 * before), SETUPTOOLS_USE_DISTUTILS=stdlib has compose use that; elsewhere nothing changes.
 */
export function composeV1Env(script: string, env: NodeJS.ProcessEnv): Record<string, string> {
  if (env.SETUPTOOLS_USE_DISTUTILS !== undefined) return {};
  const python = interpreter(script, env);
  if (!python || !path.basename(python).startsWith('python')) return {};
  try {
    const real = realpathSync(python);
    const stdlib = path.join(
      path.dirname(real),
      '..',
      'lib',
      path.basename(real),
      'distutils',
      '__init__.py',
    );
    return existsSync(stdlib) ? { SETUPTOOLS_USE_DISTUTILS: 'stdlib' } : {};
  } catch {
    return {};
  }
}

/** Where the docker CLI looks for its plugins (its own list, in its order). */
function pluginDirs(env: NodeJS.ProcessEnv): string[] {
  return [
    path.join(env.DOCKER_CONFIG ?? path.join(os.homedir(), '.docker'), 'cli-plugins'),
    '/usr/local/lib/docker/cli-plugins',
    '/usr/local/libexec/docker/cli-plugins',
    '/usr/lib/docker/cli-plugins',
    '/usr/libexec/docker/cli-plugins',
  ];
}

let cached: ComposeCli | undefined;

/**
 * Found by looking where the docker CLI looks, not by running `docker compose version` and
 * `docker-compose version`: compose v1 takes half a second to say its version, and every `up`
 * asked. A plugin or command that is there but broken says so when it runs.
 */
export async function findComposeCli(env: NodeJS.ProcessEnv): Promise<ComposeCli> {
  if (cached) return cached;
  const v1 = onPath('docker-compose', env);
  if (onPath('docker', env) && pluginDirs(env).some((dir) => executable(path.join(dir, 'docker-compose')))) {
    cached = { version: 2, command: 'docker', prefix: ['compose'], env: {} };
  } else if (v1) {
    cached = { version: 1, command: 'docker-compose', prefix: [], env: composeV1Env(v1, env) };
  } else {
    throw new UserError(
      'no compose CLI found: install the docker compose plugin (v2) or docker-compose (v1), e.g. `apt-get install docker-compose`.',
    );
  }
  return cached;
}
