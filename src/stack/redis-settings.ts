import { existsSync } from 'node:fs';
import path from 'node:path';
import type { ServiceSpec } from './spec.js';

/** The official redis image, as compose files name it (`redis:7-alpine`, `docker.io/library/redis`). */
export const REDIS_IMAGE = /^(docker\.io\/)?(library\/)?redis(:|@|$)/;

/**
 * What a redis service's command gives redis-server, as the official image's entrypoint reads
 * it: `redis-server ARGS`, or arguments alone (flags, or a config file first); none without a
 * command. Undefined for a command that runs something else (`sh -c "..."`).
 */
export function redisArgs(svc: ServiceSpec): string[] | undefined {
  const command = svc.command ?? [];
  if (path.posix.basename(command[0] ?? '') === 'redis-server') return command.slice(1);
  return command.length === 0 || command[0]?.startsWith('-') || command[0]?.endsWith('.conf')
    ? command
    : undefined;
}

/** This machine's redis-server on the PATH, which the process engine runs a redis service with. */
export function redisServer(env: NodeJS.ProcessEnv): string | undefined {
  for (const dir of (env.PATH ?? '').split(path.delimiter).filter(Boolean)) {
    const file = path.join(dir, 'redis-server');
    if (existsSync(file)) return file;
  }
  return undefined;
}
