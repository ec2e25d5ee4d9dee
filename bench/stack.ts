import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import type { Test } from 'tap';

export { waitUntilUp } from '../tests/helpers/wait.js';

const root = fileURLToPath(new URL('../..', import.meta.url));

/**
 * The reference stack for a benchmark: a process-engine stack started through the CLI, each
 * service's URL handed to `work` (with the run id and the environment the stack got, .env's
 * credentials included), and the stack taken down afterwards, whatever happens.
 */
export async function withStack<T>(work: (urls: Record<string, string>) => Promise<T>): Promise<T> {
  const runId = `bench${randomBytes(4).toString('hex')}`;
  const env = { ...process.env, REALSTACK_ENGINE: 'process', REALSTACK_RUN_ID: runId };
  const cli = (...args: string[]) =>
    execa(process.execPath, ['bin/realstack.js', ...args], { cwd: root, env });
  await cli('up');
  try {
    const ps = JSON.parse((await cli('ps', '--json')).stdout) as {
      services: { name: string; url: string }[];
    };
    return await work({ runId, ...Object.fromEntries(ps.services.map((s) => [s.name, s.url])) });
  } finally {
    await cli('down');
  }
}

/**
 * The test helpers (tests/helpers: the real OAuth flow, tenants), pointed at a benchmark's stack
 * the way `just test` points them at the test stack: through the environment. Returns the
 * credentials from .env too, and a stand-in for tap's `t` whose teardowns run at `cleanup()`.
 */
export async function helpersFor(urls: Record<string, string>) {
  Object.assign(process.env, {
    REALSTACK_RUN_ID: urls.runId,
    REALSTACK_AUTH_URL: urls.auth,
    REALSTACK_API_URL: urls.api,
    REALSTACK_POSTGRES_URL: urls.postgres,
  });
  const { loadToolkitConfig } = await import('../src/config/toolkit.js');
  const { env } = loadToolkitConfig(process.cwd(), process.env);
  const secrets = {
    adminToken: env.REALSTACK_ADMIN_TOKEN as string,
    resourceSecret: env.REALSTACK_RESOURCE_SECRET as string,
  };
  Object.assign(process.env, {
    REALSTACK_ADMIN_TOKEN: secrets.adminToken,
    REALSTACK_RESOURCE_SECRET: secrets.resourceSecret,
  });
  const cleanups: (() => unknown)[] = [];
  const scope = { name: 'bench', teardown: (fn: () => unknown) => void cleanups.push(fn) } as unknown as Test;
  return {
    oauth: await import('../tests/helpers/oauth.js'),
    tenant: await import('../tests/helpers/tenant.js'),
    secrets,
    scope,
    cleanup: async () => {
      for (const fn of cleanups.reverse()) await fn();
    },
  };
}

/**
 * The environment of an api process a benchmark starts on a stack's database: JWT checks against
 * the stack's auth service, no introspection, quiet logs, no .env.
 */
export function apiEnvironment(urls: Record<string, string>): Record<string, string> {
  return {
    PATH: process.env.PATH ?? '',
    DATABASE_URL: urls.postgres as string,
    HOST: '127.0.0.1',
    LOG_LEVEL: 'warn',
    ENV_FILE: '/nonexistent',
    ISSUER: new URL(urls.auth as string).origin,
    AUTH_URL: urls.auth as string,
    RESOURCE: 'https://api.realstack.test',
    // Required to start; no benchmark calls the admin endpoint.
    REALSTACK_ADMIN_TOKEN: 'bench-admin-token-of-32-characters',
  };
}
