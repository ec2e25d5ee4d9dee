import { accessSync, constants } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { UserError } from '../errors.js';

/** The compose CLI found on this machine: v2 as a docker plugin, else v1's docker-compose. */
export interface ComposeCli {
  version: 1 | 2;
  command: string;
  prefix: string[];
}

const executable = (file: string): boolean => {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
};

const onPath = (command: string, env: NodeJS.ProcessEnv): boolean =>
  (env.PATH ?? '').split(path.delimiter).some((dir) => dir && executable(path.join(dir, command)));

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
  if (onPath('docker', env) && pluginDirs(env).some((dir) => executable(path.join(dir, 'docker-compose')))) {
    cached = { version: 2, command: 'docker', prefix: ['compose'] };
  } else if (onPath('docker-compose', env)) {
    cached = { version: 1, command: 'docker-compose', prefix: [] };
  } else {
    throw new UserError(
      'no compose CLI found: install the docker compose plugin (v2) or docker-compose (v1), e.g. `apt-get install docker-compose`.',
    );
  }
  return cached;
}
