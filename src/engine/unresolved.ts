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
