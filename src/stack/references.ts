import type { ServiceSpec, StackSpec } from './spec.js';

/**
 * How one service names another in its environment, as compose resolves it on the run's
 * network: the names a service answers to, and the two forms of address that carry a port.
 * The process engine rewrites these addresses (engine/rewrite-env.ts); the stack reads from
 * them where a service listens when nothing else says (`reachedPorts`).
 */

/** The port a URL of each scheme means when it names none. */
export const SCHEME_PORTS: Record<string, number> = {
  http: 80,
  https: 443,
  ws: 80,
  wss: 443,
  postgres: 5432,
  postgresql: 5432,
  redis: 6379,
  mongodb: 27017,
  mysql: 3306,
  amqp: 5672,
};

/** A URL of any scheme: its scheme, user part, host and port. */
export const URL_ADDRESS = /\b([a-z][a-z0-9+.-]*):\/\/([^\s/?#@]*@)?([A-Za-z0-9_.-]+)(?::(\d+))?/g;

/** A `host:port` pair anywhere in a value, after its start, a space, a comma, `;` or `=`. */
export const PAIR_ADDRESS = /(^|[\s,;=])([A-Za-z0-9_.-]+):(\d+)\b/g;

/**
 * Every name a service answers to on the compose network, with the service: its name, container
 * name, hostname, its aliases on each network, and the aliases other services' `links` give it.
 */
export function composeNames(stack: Pick<StackSpec, 'model'>): Map<string, string> {
  const raws = stack.model.services as Record<string, Record<string, unknown>>;
  const names = new Map<string, string>();
  for (const [service, raw] of Object.entries(raws)) {
    const networks = raw.networks && !Array.isArray(raw.networks) ? Object.values(raw.networks) : [];
    const aliases = networks.flatMap((n) => (n as { aliases?: unknown } | null)?.aliases ?? []);
    const linked = Object.values(raws).flatMap((other) =>
      (Array.isArray(other.links) ? other.links : []).flatMap((l) => {
        const [target, alias] = String(l).split(':');
        return target === service && alias ? [alias] : [];
      }),
    );
    for (const n of [service, raw.container_name, raw.hostname, ...aliases, ...linked])
      if (typeof n === 'string' && n) names.set(n, service);
  }
  return names;
}

/**
 * The ports each service is reached on by the stack's environments (`USERS_URL:
 * http://users:4000`, `CACHE=cache:6379`), with the first variable that says so.
 */
export function reachedPorts(
  services: ServiceSpec[],
  names: Map<string, string>,
): Map<string, Map<number, string>> {
  const reached = new Map<string, Map<number, string>>();
  const add = (host: string, port: number | undefined, by: string) => {
    const service = names.get(host);
    if (service === undefined || port === undefined) return;
    const ports = reached.get(service) ?? new Map<number, string>();
    if (!ports.has(port)) ports.set(port, by);
    reached.set(service, ports);
  };
  for (const s of services)
    for (const [variable, value] of Object.entries(s.environment)) {
      const by = `${s.name}'s ${variable}`;
      for (const [, scheme, , host, port] of value.matchAll(URL_ADDRESS))
        add(host as string, port ? Number(port) : SCHEME_PORTS[scheme as string], by);
      for (const [, , host, port] of value.matchAll(PAIR_ADDRESS)) add(host as string, Number(port), by);
    }
  return reached;
}
