import { execa } from 'execa';
import { UserError } from '../errors.js';

/** The compose CLI found on this machine: v2 as a docker plugin, else v1's docker-compose. */
export interface ComposeCli {
  version: 1 | 2;
  command: string;
  prefix: string[];
}

let cached: ComposeCli | undefined;

export async function findComposeCli(env: NodeJS.ProcessEnv): Promise<ComposeCli> {
  if (cached) return cached;
  const v2 = await execa('docker', ['compose', 'version', '--short'], { env, reject: false });
  if (v2.exitCode === 0) {
    cached = { version: 2, command: 'docker', prefix: ['compose'] };
    return cached;
  }
  const v1 = await execa('docker-compose', ['version', '--short'], { env, reject: false });
  if (v1.exitCode === 0) {
    cached = { version: 1, command: 'docker-compose', prefix: [] };
    return cached;
  }
  throw new UserError(
    'no compose CLI found: install the docker compose plugin (v2) or docker-compose (v1), e.g. `apt-get install docker-compose`.',
  );
}
