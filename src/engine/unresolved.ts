import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';

/**
 * A name that did not resolve, as Node (`getaddrinfo ENOTFOUND db`), libpq (`could not translate
 * host name "db"`), pg_isready (`db:5432 - no response`), curl, netcat, busybox and ping say it.
 */
const UNRESOLVED =
  /(?:ENOTFOUND|EAI_AGAIN|[Uu]nknown host|resolve host:?)\s+['"]?([\w.-]+)|(?:host name|host|address)\s+["']([\w.-]+)["']|([\w.-]+)(?::\d+)? - no response|([\w.-]+)(?::\d+)?: (?:Name or service not known|Temporary failure in name resolution)/;

/**
 * The last of `lines` that says one of `names` (a stack's compose names) did not resolve. On the
 * process engine every service runs on this machine, where no compose name resolves.
 */
export function unresolvedName(
  lines: string[],
  names: Map<string, string>,
): { name: string; line: string } | undefined {
  for (const line of [...lines].reverse()) {
    const name = UNRESOLVED.exec(line)
      ?.slice(1)
      .find((n) => n !== undefined);
    if (name !== undefined && names.has(name)) return { name, line: line.trim() };
  }
  return undefined;
}

/** Where realstack rewrites a compose name for the process engine, and what else to do. */
export const rewrittenForms = (name: string): string =>
  `realstack rewrites ${name} where it is a URL's host, a ${name}:PORT pair or a *_HOST variable's value in the environment, and in the command a host flag (-h ${name}) or netcat's words`;

/** A script larger than this is a bundle of packages, whose strings say nothing of the service's peers. */
const SCRIPT_READ_LIMIT = 256 * 1024;

/**
 * A peer's compose name written in a service's scripts as a host: a string that is the name
 * (`net.connect(5432, 'db')`, `host: 'db'`) or a URL's host (`'http://api:3000/x'`). Said where
 * a service answers but not as it should, and its log names no host: it may be reaching for a
 * peer by a name that resolves nowhere on this machine. `own` are the service's own names.
 */
export function peerInScripts(
  scripts: string[],
  names: Map<string, string>,
  own: string,
): { name: string; file: string } | undefined {
  const peers = [...names].filter(([, service]) => service !== own).map(([name]) => name);
  if (peers.length === 0) return undefined;
  const alternatives = peers.map((n) => n.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('|');
  // 'db', 'db:5432', or a URL's host: 'postgres://u:p@db/x', 'http://api:3000'.
  const bare = new RegExp(`['"\`](${alternatives})(?:['"\`]|:\\d)`);
  const inUrl = new RegExp(`['"\`][a-z][a-z0-9+.-]*://(?:[^\\s'"\`/@]*@)?(${alternatives})[:/'"\`]`);
  for (const file of scripts) {
    try {
      if (statSync(file).size > SCRIPT_READ_LIMIT) continue;
      const text = readFileSync(file, 'utf8');
      const m = bare.exec(text) ?? inUrl.exec(text);
      if (m) return { name: m[1] as string, file };
    } catch {}
  }
  return undefined;
}

/** `file` as the user knows it: relative to the project, where it is inside. */
export const shownPath = (projectDir: string, file: string): string => {
  const rel = path.relative(projectDir, file);
  return rel.startsWith('..') ? file : rel;
};
