/**
 * Compose-style variable interpolation: $VAR, ${VAR}, ${VAR:-default}, ${VAR-default},
 * ${VAR:?message}, ${VAR?message}, ${VAR:+replacement}, ${VAR+replacement}, a default or
 * replacement that holds variables of its own (`${A:-${B:-x}}`, as compose v2 reads it), and $$
 * for a literal dollar. The process engine needs the same values without running compose.
 */
export class InterpolationError extends Error {
  override name = 'InterpolationError';
}

const NAME = /^[A-Za-z_][A-Za-z0-9_]*/;
const OPERATORS = [':-', ':?', ':+', '-', '?', '+'] as const;

/** The index of the `}` that closes the `${` whose body starts at `from`, or -1. */
function closing(value: string, from: number): number {
  let depth = 1;
  for (let i = from; i < value.length; i++) {
    if (value[i] === '$' && value[i + 1] === '$') i++;
    else if (value[i] === '$' && value[i + 1] === '{') {
      depth++;
      i++;
    } else if (value[i] === '}' && --depth === 0) return i;
  }
  return -1;
}

export function interpolate(value: string, env: Record<string, string | undefined>): string {
  let out = '';
  let i = 0;
  while (i < value.length) {
    const at = value.indexOf('$', i);
    if (at < 0) break;
    out += value.slice(i, at);
    const next = value[at + 1];
    if (next === '$') {
      out += '$';
      i = at + 2;
      continue;
    }
    if (next !== '{') {
      const bare = NAME.exec(value.slice(at + 1))?.[0];
      out += bare ? (env[bare] ?? '') : '$';
      i = at + 1 + (bare?.length ?? 0);
      continue;
    }
    const end = closing(value, at + 2);
    const name = NAME.exec(value.slice(at + 2))?.[0];
    const rest = name && end >= 0 ? value.slice(at + 2 + name.length, end) : '';
    const op = OPERATORS.find((o) => rest.startsWith(o));
    if (end < 0 || !name || (rest !== '' && !op)) {
      // Not a variable compose reads: left as written.
      out += '${';
      i = at + 2;
      continue;
    }
    out += substitute(value.slice(at, end + 1), name, op, op ? rest.slice(op.length) : '', env);
    i = end + 1;
  }
  return out + value.slice(i);
}

function substitute(
  match: string,
  name: string,
  op: (typeof OPERATORS)[number] | undefined,
  arg: string,
  env: Record<string, string | undefined>,
): string {
  const current = env[name];
  const unsetOrEmpty = current === undefined || current === '';
  // The argument is read only when it is used, as compose reads it.
  const given = () => interpolate(arg, env);
  switch (op) {
    case ':-':
      return unsetOrEmpty ? given() : (current as string);
    case '-':
      return current === undefined ? given() : current;
    case ':+':
      return unsetOrEmpty ? '' : given();
    case '+':
      return current === undefined ? '' : given();
    case ':?':
    case '?':
      if (op === ':?' ? unsetOrEmpty : current === undefined) {
        const message = given();
        throw new InterpolationError(
          `${match} needs ${name}, which is ${current === undefined ? 'not set' : 'empty'}${message ? ` ("${message}")` : ''}: set it in the environment or in the project's .env`,
        );
      }
      return current as string;
    default:
      return current ?? '';
  }
}
