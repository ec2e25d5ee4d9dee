import { UserError } from '../errors.js';

/** One published port, after realstack's rule for host ports. */
export interface PortSpec {
  container: number;
  protocol: string;
  /** The host port to publish on, or undefined for an ephemeral one. */
  host?: number;
  /** Where to publish: 127.0.0.1 unless the service's ports are pinned as written. */
  hostIp: string;
  /** The host port the compose file wrote, when realstack publishes on another one instead. */
  moved?: number;
}

interface Written {
  hostIp: string;
  host: string;
  container: string;
  protocol: string;
}

function split(entry: unknown): Written {
  if (typeof entry === 'object' && entry !== null) {
    const e = entry as Record<string, unknown>;
    return {
      hostIp: String(e.host_ip ?? ''),
      host: String(e.published ?? ''),
      container: String(e.target ?? ''),
      protocol: String(e.protocol ?? 'tcp'),
    };
  }
  // `${VAR:-default}` holds colons of its own: kept whole while the entry is split on its colons.
  const held: string[] = [];
  const restore = (x: string) => x.replace(/@@(\d+)@@/g, (_, i: string) => held[Number(i)] as string);
  let s = String(entry).replace(/\$\{[^}]*\}/g, (m) => `@@${held.push(m) - 1}@@`);
  let hostIp = '';
  const v6 = /^\[([^\]]+)\]:(.*)$/.exec(s);
  if (v6) {
    hostIp = v6[1] as string;
    s = v6[2] as string;
  }
  const [rest, protocol = 'tcp'] = s.split('/') as [string, string?];
  const parts = rest.split(':');
  if (parts.length >= 3) hostIp = parts.slice(0, -2).join(':');
  return {
    hostIp: restore(hostIp),
    host: restore(parts.length >= 2 ? (parts.at(-2) as string) : ''),
    container: restore(parts.at(-1) as string),
    protocol,
  };
}

const shown = (entry: unknown) => (typeof entry === 'string' ? entry : JSON.stringify(entry));

/**
 * A range (`9229-9230:9229-9230`, `3000-3002`) as the single ports compose publishes for it:
 * the host side's range port by port, or none (ephemeral ones).
 */
function expandRange(w: Written, entry: unknown, where: string): Written[] {
  const range = (part: string) => /^(\d+)-(\d+)$/.exec(part);
  const c = range(w.container);
  if (!c) return [w];
  const from = Number(c[1]);
  const count = Number(c[2]) - from + 1;
  const h = range(w.host);
  if (count < 1 || (h ? Number(h[2]) - Number(h[1]) + 1 !== count : w.host !== ''))
    throw new UserError(
      `${where}: port "${shown(entry)}" does not map a range port by port; realstack publishes a range as its single ports: give the host side a range of the same size, or none.`,
    );
  return Array.from({ length: count }, (_, k) => ({
    ...w,
    container: String(from + k),
    host: h ? String(Number(h[1]) + k) : '',
  }));
}

/** The variable a written host port comes from (`${API_PORT:-}`, `$API_PORT`), if any. */
const variableOf = (written: string): string | undefined =>
  /\$\{?([A-Za-z_][A-Za-z0-9_]*)/.exec(written)?.[1];

/**
 * Host ports by realstack's rule: published on 127.0.0.1, on an ephemeral port, so that two
 * runs never clash and nothing listens beyond this machine; a port the user chose for this run
 * (a variable set in the environment) is kept, and `pinPorts` keeps everything as written.
 */
export function readPorts(
  raw: unknown,
  interpolated: unknown,
  env: Record<string, string | undefined>,
  options: { pinned: boolean; knownPort: boolean; where: string },
): { ports: PortSpec[]; notes: string[]; knownPortVar?: string } {
  const notes: string[] = [];
  const rawList = Array.isArray(raw) ? raw : [];
  const list = Array.isArray(interpolated) ? interpolated : [];
  let knownPortVar: string | undefined;
  const written = list.flatMap((entry, i) => {
    const r = split(rawList[i] ?? entry);
    return expandRange(split(entry), entry, options.where).map((w) => ({ w, r, entry }));
  });
  const ports = written.map(({ w, r, entry }, i): PortSpec => {
    const container = Number(w.container);
    if (!Number.isInteger(container))
      throw new UserError(
        `${options.where}: port "${shown(entry)}" is unreadable: write it as compose does, "8080:80".`,
      );
    const variable = variableOf(r.host);
    if (i === 0 && options.knownPort) {
      if (!variable)
        throw new UserError(
          `${options.where}: knownPort needs its first port's host part to be a variable, e.g. "127.0.0.1:\${WEB_PORT:-}:${container}"`,
        );
      knownPortVar = variable;
    }
    const host = w.host === '' ? undefined : Number(w.host);
    if (host !== undefined && !Number.isInteger(host))
      throw new UserError(`${options.where}: host port "${w.host}" is not a port number`);
    if (options.pinned)
      return { container, protocol: w.protocol, hostIp: w.hostIp, ...(host ? { host } : {}) };
    const chosen = variable !== undefined && Boolean(env[variable]);
    if (i === 0 && options.knownPort) {
      if (!chosen)
        notes.push(
          `port ${container} gets a free host port before anything starts, set in ${variable} (knownPort)`,
        );
    } else if (host !== undefined && !chosen)
      notes.push(
        `port ${w.hostIp ? `${w.hostIp}:` : ''}${host}:${container} is published on an ephemeral port of 127.0.0.1 instead, so that runs never clash (set "pinPorts": true in its entry in realstack.json to keep it)`,
      );
    else if (w.hostIp !== '' && w.hostIp !== '127.0.0.1')
      notes.push(`port ${container} is published on 127.0.0.1, not ${w.hostIp}`);
    return {
      container,
      protocol: w.protocol,
      hostIp: '127.0.0.1',
      ...(host !== undefined ? (chosen ? { host } : { moved: host }) : {}),
    };
  });
  return { ports, notes, ...(knownPortVar ? { knownPortVar } : {}) };
}

/** The short form compose v1 and v2 both read. */
export const portString = (p: PortSpec): string =>
  `${p.hostIp ? `${p.hostIp.includes(':') ? `[${p.hostIp}]` : p.hostIp}:` : ''}${p.host ?? ''}${p.hostIp || p.host ? ':' : ''}${p.container}${p.protocol === 'tcp' ? '' : `/${p.protocol}`}`;
