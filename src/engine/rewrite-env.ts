import { composeNames, PAIR_ADDRESS, SCHEME_PORTS, URL_ADDRESS } from '../stack/references.js';
import type { StackSpec } from '../stack/spec.js';

/**
 * The process engine runs every service on 127.0.0.1, each on a port of its own, so whatever
 * in a service's environment names another service by its compose address must name its host
 * address instead. The rules, in order, for every variable (docs/adopting.md lists them):
 *
 *   1. a URL of any scheme whose host is a service: host 127.0.0.1, and the port that service's
 *      container port (the URL's, else the scheme's default, else its first) has on the host;
 *   2. a `service:port` pair anywhere in the value: the same, without a scheme;
 *   3. a host variable (a name ending in HOST, HOSTNAME, ADDR, ADDRESS or SERVER) whose value is a
 *      service's name alone (`DB_HOST=db`): 127.0.0.1;
 *   4. the port variable beside such a host variable (`DB_PORT` beside `DB_HOST`, `PGPORT`
 *      beside `PGHOST`): that service's host port; added when there is none, since the
 *      service would otherwise use its default port, where nothing of the run listens;
 *   5. a variable ending in PORT whose value is one of the service's own container ports: the
 *      host port it listens on instead.
 * Names are compose service names, container names, hostnames, network aliases and link aliases (peerNames below).
 */

export interface Rewrite {
  variable: string;
  from: string | undefined;
  to: string;
}

export interface Peer {
  service: string;
  /** Container port to host port (or a placeholder, for `config --explain`). */
  ports: Map<number, string>;
  /** The port it is reached on when a reference names none. */
  defaultPort?: number;
  /** Where it is reached: 127.0.0.1 unless said (a proxy the chaos command puts in front of it). */
  host?: string;
}

const HOST_VARIABLE = /^(.*?)(_?)(HOST|HOSTNAME|ADDR|ADDRESS|SERVER)$/;

/** Every variable of `env` rewritten by the rules above, with the list of what changed. */
export function rewriteEnvironment(
  env: Record<string, string>,
  names: Map<string, Peer>,
  own: Peer | undefined,
): { env: Record<string, string>; rewrites: Rewrite[]; unresolved: string[] } {
  const out = { ...env };
  const rewrites: Rewrite[] = [];
  const unresolved: string[] = [];
  const hostPort = (peer: Peer, port: number | undefined, what: string) => {
    const p = port ?? peer.defaultPort;
    const mapped = p === undefined ? undefined : peer.ports.get(p);
    if (mapped === undefined)
      unresolved.push(
        `${what}: ${peer.service} has no port ${p ?? ''} that realstack knows; publish or expose it in the compose file`,
      );
    return mapped;
  };
  const set = (variable: string, to: string) => {
    if (out[variable] === to) return;
    rewrites.push({ variable, from: out[variable], to });
    out[variable] = to;
  };

  const hosts = new Map<string, Peer>();
  for (const [variable, value] of Object.entries(env)) {
    let next = value.replace(
      URL_ADDRESS,
      (match, scheme: string, user: string | undefined, host: string, port: string | undefined) => {
        const peer = names.get(host);
        if (!peer) return match;
        const mapped = hostPort(peer, port ? Number(port) : SCHEME_PORTS[scheme], `${variable}=${value}`);
        return mapped === undefined
          ? match
          : `${scheme}://${user ?? ''}${peer.host ?? '127.0.0.1'}:${mapped}`;
      },
    );
    next = next.replace(PAIR_ADDRESS, (match, before: string, host: string, port: string) => {
      const peer = names.get(host);
      if (!peer) return match;
      const mapped = hostPort(peer, Number(port), `${variable}=${value}`);
      return mapped === undefined ? match : `${before}${peer.host ?? '127.0.0.1'}:${mapped}`;
    });
    const alone = HOST_VARIABLE.test(variable) ? names.get(value) : undefined;
    if (alone) {
      next = alone.host ?? '127.0.0.1';
      hosts.set(variable, alone);
    }
    if (next !== value) set(variable, next);
  }

  const paired = new Set<string>();
  for (const [variable, peer] of hosts) {
    const m = HOST_VARIABLE.exec(variable);
    if (!m || m[1] === '') continue;
    const portVariable = `${m[1]}${m[2]}PORT`;
    paired.add(portVariable);
    const current = env[portVariable];
    const mapped = hostPort(
      peer,
      current === undefined ? undefined : Number(current),
      `${portVariable} beside ${variable}`,
    );
    if (mapped !== undefined) set(portVariable, mapped);
  }

  if (own) {
    for (const [variable, value] of Object.entries(env)) {
      if (paired.has(variable) || !/PORT$/.test(variable)) continue;
      const mapped = own.ports.get(Number(value));
      if (mapped !== undefined && /^\d+$/.test(value)) set(variable, mapped);
    }
  }
  return { env: out, rewrites, unresolved };
}

/** Each compose name of a service in `peers`, with its peer. */
export function peerNames(stack: StackSpec, peers: Map<string, Peer>): Map<string, Peer> {
  const names = new Map<string, Peer>();
  for (const [name, service] of composeNames(stack)) {
    const peer = peers.get(service);
    if (peer) names.set(name, peer);
  }
  return names;
}
