/**
 * Compose-style variable interpolation: $VAR, ${VAR}, ${VAR:-default}, ${VAR-default},
 * ${VAR:?message}, ${VAR?message}, and $$ for a literal dollar. Both compose v1 and v2
 * apply these rules; the process engine needs the same values without running compose.
 */
export class InterpolationError extends Error {
  override name = 'InterpolationError';
}

const pattern = /\$(?:\$|\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])([^}]*))?\}|([A-Za-z_][A-Za-z0-9_]*))/g;

export function interpolate(value: string, env: Record<string, string | undefined>): string {
  return value.replace(pattern, (match, braced?: string, op?: string, arg?: string, bare?: string) => {
    if (match === '$$') return '$';
    const name = (braced ?? bare) as string;
    const current = env[name];
    const unsetOrEmpty = current === undefined || current === '';
    switch (op) {
      case ':-':
        return unsetOrEmpty ? (arg ?? '') : (current as string);
      case '-':
        return current === undefined ? (arg ?? '') : current;
      case ':?':
      case '?':
        if (op === ':?' ? unsetOrEmpty : current === undefined) {
          throw new InterpolationError(
            `${match} needs ${name}, which is ${current === undefined ? 'not set' : 'empty'}${arg ? ` ("${arg}")` : ''}: set it in the environment or in the project's .env`,
          );
        }
        return current as string;
      default:
        return current ?? '';
    }
  });
}
