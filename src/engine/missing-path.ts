/**
 * A file a service did not find, as Node (`ENOENT: no such file or directory, open
 * '/run/secrets/token'`) and a shell or C program (`/etc/app/config.yml: No such file or
 * directory`) say it.
 */
const MISSING = /ENOENT\b[^'"]*['"](\/[^'"]+)['"]|(\/[^\s:'"]+): No such file or directory/;

/**
 * The last of `lines` that says a path of the service's container was missing, where this
 * machine has that file elsewhere (`toHost`: its secrets, configs, bind mounts and image files).
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
    if (host !== path) return { path, host };
  }
  return undefined;
}
