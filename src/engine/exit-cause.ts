// What a service's last lines say it ended of, where the process engine can say why and what
// to do: every service runs on this machine there, beside everything else on it.
import { existsSync } from 'node:fs';

/**
 * A file a service did not find, as Node (`ENOENT: no such file or directory, open
 * '/run/secrets/token'`) and a shell or C program (`/etc/app/config.yml: No such file or
 * directory`) say it.
 */
const MISSING = /ENOENT\b[^'"]*['"](\/[^'"]+)['"]|(\/[^\s:'"]+): No such file or directory/;

/**
 * The last of `lines` that says a path of the service's container was missing, where this
 * machine has that file (it is there) elsewhere (`toHost`: its secrets, configs, bind mounts and image files).
 * On the process engine a path written in a service's code cannot be moved there: only the
 * environment and the command are rewritten.
 */
export function missingContainerPath(
  lines: string[],
  toHost: (value: string) => string,
): { path: string; host: string } | undefined {
  for (const line of [...lines].reverse()) {
    const path = MISSING.exec(line)
      ?.slice(1)
      .find((p) => p !== undefined);
    if (path === undefined) continue;
    const host = toHost(path);
    // Not there either: what it looked for is missing, not misplaced.
    if (host !== path && existsSync(host)) return { path, host };
  }
  return undefined;
}

/** Node's words for a port another process holds (`listen EADDRINUSE: address already in use :::3000`). */
const IN_USE = /EADDRINUSE\b.*?:(\d+)\s*$/;

/** The port the last of `lines` says the service could not listen on, since another process had it. */
export function portTaken(lines: string[]): number | undefined {
  for (const line of [...lines].reverse()) {
    const port = IN_USE.exec(line.trim())?.[1];
    if (port !== undefined) return Number(port);
  }
  return undefined;
}
