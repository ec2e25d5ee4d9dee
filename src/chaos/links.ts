import { listenPorts } from '../engine/process.js';
import { peerNames, type Rewrite, rewriteEnvironment } from '../engine/rewrite-env.js';
import { UserError } from '../errors.js';
import type { StackSpec } from '../stack/spec.js';

/** Where a proxy listens, as the service will reach it; `extraHost` makes the name resolve in a container. */
export interface ProxyAddress {
  host: string;
  port: number;
  extraHost?: string;
}

/**
 * The stack with every reference of `service` to `peer` (a URL, host:port, a DB_HOST/DB_PORT
 * pair; the process engine's rewrite rules, src/engine/rewrite-env.ts) pointed at a proxy.
 */
export function throughProxy(
  stack: StackSpec,
  service: string,
  peer: string,
  at: ProxyAddress,
): { stack: StackSpec; rewrites: Rewrite[] } {
  const target = stack.services.find((s) => s.name === peer);
  const svc = stack.services.find((s) => s.name === service);
  const port = target && listenPorts(target)[0];
  if (!svc || !target || port === undefined)
    throw new UserError(`cannot put a proxy between "${service}" and "${peer}": the stack has no such pair.`);
  const names = peerNames(
    stack,
    new Map([
      [peer, { service: peer, host: at.host, ports: new Map([[port, String(at.port)]]), defaultPort: port }],
    ]),
  );
  const { env, rewrites } = rewriteEnvironment(svc.environment, names, undefined);
  if (rewrites.length === 0)
    throw new UserError(
      `${service}'s environment names ${peer} nowhere (no URL, host:port or host variable): realstack cannot put its proxy between them. Name it, e.g. DATABASE_URL=postgres://…@${peer}:${port}/db.`,
    );
  const services = stack.services.map((s) =>
    s === svc
      ? {
          ...s,
          environment: env,
          ...(at.extraHost ? { extraHosts: [...(s.extraHosts ?? []), at.extraHost] } : {}),
        }
      : s,
  );
  return { stack: { ...stack, services }, rewrites };
}
