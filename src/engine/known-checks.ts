import type { Role } from '../config/project.js';

/**
 * Health checks whose answer realstack's own probe already knows.
 *
 * While a container starts, realstack runs its check through `docker exec` once its probe from
 * the host passes (./health-now.ts): 0.25 s for `pg_isready`, 0.4 s for a Node `fetch`, on the
 * path of every `up`, for a question the probe has just answered. Some checks ask exactly that
 * question of the same server: `pg_isready` is PQping, which pg-ping.ts asks; `curl`, `wget` and
 * a Node `fetch` of the health path on the port the probe reached pass on a 2xx, which the probe
 * got. For those alone, and only as they are written here, the probe's pass is the check's:
 * anything else in the command (another flag, a shell operator, a variable where the address
 * goes, a proxy in the environment, `--spider`'s HEAD) and the check runs as before. Whether the
 * check's programs are in the image is the caller's to ask (a `curl` check in an image without
 * curl fails in Docker, and must here).
 */

/** What realstack's probe of the container reached: its role, the port inside, the path it got 2xx from. */
export interface ProbeTarget {
  role: Role;
  port: number | undefined;
  /** The health path the probe asked; undefined where it only saw the port answer. */
  path: string | undefined;
}

/** A word of a CMD-SHELL command, and whether the shell gives it a value of its own (`$X`). */
interface Word {
  text: string;
  expands: boolean;
}

/**
 * `$VAR` or `${VAR}` at the start of `text` (compose's `$${POSTGRES_USER}` reaches the shell as
 * `${POSTGRES_USER}`), and its value in the container's environment, which the check's shell has.
 */
function variableAt(
  text: string,
  env: Record<string, string>,
): { length: number; value?: string } | undefined {
  const m = /^\$(?:\{([A-Za-z_]\w*)\}|([A-Za-z_]\w*))/.exec(text);
  return m ? { length: m[0].length, value: env[(m[1] ?? m[2]) as string] } : undefined;
}

/**
 * The words of a shell command made of plain words alone, its variables given their values, with
 * a trailing `|| exit 1` (which changes no pass or fail) left off; undefined for anything else
 * (pipes, `&&`, redirections, `;`, subshells, command substitution, globs). A word whose value
 * the shell alone knows (an unset variable, one it would split) `expands`.
 */
function plainWords(command: string, env: Record<string, string>): Word[] | undefined {
  const text = command.trim().replace(/\s*\|\|\s*exit\s+1\s*$/, '');
  const words: Word[] = [];
  let word: Word | undefined;
  for (let i = 0; i < text.length; i++) {
    const c = text[i] as string;
    if (/\s/.test(c)) {
      if (word) words.push(word);
      word = undefined;
      continue;
    }
    word ??= { text: '', expands: false };
    if (c === "'") {
      const end = text.indexOf("'", i + 1);
      if (end < 0) return undefined;
      word.text += text.slice(i + 1, end);
      i = end;
    } else if (c === '"') {
      for (i++; text[i] !== '"'; i++) {
        if (i >= text.length || text[i] === '`') return undefined;
        if (text[i] === '\\' && /["\\$`]/.test(text[i + 1] ?? '')) word.text += text[++i];
        else if (text[i] === '$') {
          const v = variableAt(text.slice(i), env);
          if (!v) return undefined;
          if (v.value === undefined) word.expands = true;
          word.text += v.value ?? '';
          i += v.length - 1;
        } else word.text += text[i];
      }
    } else if (c === '\\') {
      word.text += text[++i] ?? '';
    } else if (c === '$') {
      const v = variableAt(text.slice(i), env);
      if (!v) return undefined;
      if (v.value === undefined || /[\s*?[]/.test(v.value)) word.expands = true;
      word.text += v.value ?? '';
      i += v.length - 1;
    } else if (/[|&;<>()`*?[\]{}~#]/.test(c)) {
      return undefined;
    } else {
      word.text += c;
    }
  }
  if (word) words.push(word);
  return words;
}

/** The words of Docker's check (`CMD`: its arguments; `CMD-SHELL`: the shell's plain words). */
function checkWords(test: string[], env: Record<string, string>): Word[] | undefined {
  const [kind, ...rest] = test;
  if (kind === 'CMD') return rest.map((text) => ({ text, expands: false }));
  if (kind === 'CMD-SHELL' && rest.length === 1) return plainWords(rest[0] as string, env);
  return undefined;
}

const LOOPBACK = new Set(['127.0.0.1', 'localhost']);

/**
 * Options of the form `-x`, `-xVALUE`, `-x VALUE`, `--long`, `--long=VALUE`, `--long VALUE`, and
 * one clustered run of flags (`-fsS`), read against a program's known ones: each option's
 * values, and the other words; undefined where a word is an option the program is not known
 * to take here.
 */
function readOptions(
  words: Word[],
  flags: Record<string, string>,
  valued: Record<string, string>,
): { options: Map<string, Word[]>; operands: Word[] } | undefined {
  const options = new Map<string, Word[]>();
  const operands: Word[] = [];
  const add = (name: string, value: Word) => options.set(name, [...(options.get(name) ?? []), value]);
  for (let i = 0; i < words.length; i++) {
    const w = words[i] as Word;
    const take = (inline: string | undefined): Word | undefined =>
      inline !== undefined && inline !== '' ? { text: inline, expands: w.expands } : words[++i];
    if (w.text.startsWith('--')) {
      const [long, inline] = w.text.includes('=')
        ? [w.text.slice(0, w.text.indexOf('=')), w.text.slice(w.text.indexOf('=') + 1)]
        : [w.text, undefined];
      const name = flags[long] ?? valued[long];
      if (!name || (flags[long] && inline !== undefined)) return undefined;
      const value = valued[long] ? take(inline ?? '') : { text: '', expands: false };
      if (!value) return undefined;
      add(name, value);
    } else if (w.text.startsWith('-') && w.text.length > 1) {
      for (let k = 1; k < w.text.length; k++) {
        const short = `-${w.text[k]}`;
        if (valued[short]) {
          const value = take(w.text.slice(k + 1));
          if (!value) return undefined;
          add(valued[short] as string, value);
          break;
        }
        if (!flags[short]) return undefined;
        add(flags[short] as string, { text: '', expands: false });
      }
    } else operands.push(w);
  }
  return { options, operands };
}

/** The one URL a check fetches, when it is http:// on the container's loopback at the probed port and path. */
function sameUrl(word: Word | undefined, target: ProbeTarget, hosts: Set<string>): boolean {
  if (!word || word.expands || target.path === undefined) return false;
  let url: URL;
  try {
    url = new URL(word.text);
  } catch {
    return false;
  }
  return (
    url.protocol === 'http:' &&
    hosts.has(url.hostname) &&
    Number(url.port || 80) === target.port &&
    !url.username &&
    url.pathname + url.search === target.path
  );
}

/** `pg_isready`, as pg-ping.ts asks it: any user and database; the server on this container's loopback. */
function pgIsready(args: Word[], target: ProbeTarget, env: Record<string, string>): boolean {
  if (target.role !== 'postgres') return false;
  // libpq reads these where the command gives no host or port, and a service file can say either.
  if (['PGHOST', 'PGHOSTADDR', 'PGPORT', 'PGSERVICE', 'PGSERVICEFILE'].some((v) => v in env)) return false;
  const read = readOptions(
    args,
    { '-q': 'quiet', '--quiet': 'quiet' },
    {
      '-h': 'host',
      '--host': 'host',
      '-p': 'port',
      '--port': 'port',
      '-U': 'user',
      '--username': 'user',
      '-d': 'db',
      '--dbname': 'db',
      '-t': 'timeout',
      '--timeout': 'timeout',
    },
  );
  if (!read || read.operands.length > 0) return false;
  const one = (name: string) => {
    const values = read.options.get(name) ?? [];
    return values.length > 1 || values.some((v) => v.expands) ? null : values[0]?.text;
  };
  const host = one('host');
  const port = one('port');
  const db = one('db');
  // Without -h, libpq uses the server's socket, which it makes before it takes TCP connections.
  if (host === null || (host !== undefined && !LOOPBACK.has(host))) return false;
  if (port === null || Number(port ?? 5432) !== target.port) return false;
  // A connection string or URL in -d can name another server.
  if (db === null || (db !== undefined && /[=/]/.test(db))) return false;
  const timeout = one('timeout');
  return timeout === undefined || (timeout !== null && /^\d+$/.test(timeout) && timeout !== '0');
}

/**
 * A GET of the probed URL alone, its body to standard output or /dev/null: a file written in the
 * container fails where its folder is not the check's to write (a read-only root, a WORKDIR of
 * root's). wget writes one unless told (`mustSayOutput`); curl writes to standard output.
 */
function getsProbedUrl(
  read: ReturnType<typeof readOptions>,
  target: ProbeTarget,
  hosts: Set<string>,
  mustSayOutput: boolean,
): boolean {
  if (read?.operands.length !== 1 || !sameUrl(read.operands[0], target, hosts)) return false;
  const output = read.options.get('output');
  if (!output) return !mustSayOutput;
  return output.length === 1 && ['-', '/dev/null'].includes(output[0]?.text as string) && !output[0]?.expands;
}

/** `curl`: with or without --fail it passes on the 2xx the probe had. */
const curl = (args: Word[], target: ProbeTarget) =>
  getsProbedUrl(
    readOptions(
      args,
      {
        '-f': 'fail',
        '--fail': 'fail',
        '-s': 'silent',
        '--silent': 'silent',
        '-S': 'show-error',
        '--show-error': 'show-error',
        '-L': 'location',
        '--location': 'location',
      },
      {
        '-o': 'output',
        '--output': 'output',
        '-m': 'time',
        '--max-time': 'time',
        '--connect-timeout': 'time',
      },
    ),
    target,
    LOOPBACK,
    false,
  );

/**
 * `wget` (not `--spider`, a HEAD the server may refuse). 127.0.0.1 only: busybox's wget tries the
 * first address of `localhost`, which may be ::1.
 */
const wget = (args: Word[], target: ProbeTarget) =>
  getsProbedUrl(
    readOptions(
      args,
      { '-q': 'quiet', '--quiet': 'quiet' },
      {
        '-O': 'output',
        '--output-document': 'output',
        '-T': 'time',
        '--timeout': 'time',
        '-t': 'tries',
        '--tries': 'tries',
      },
    ),
    target,
    new Set(['127.0.0.1']),
    true,
  );

/**
 * `node -e "fetch('http://127.0.0.1:3000/health').then(r => process.exit(r.ok ? 0 : 1))"`, with
 * an optional rejection handler or catch that exits 1 (an unhandled rejection exits 1 as well).
 */
const FETCH_OK =
  /^fetch\((['"`])([^'"`]+)\1\)\.then\(\(?([A-Za-z_$][\w$]*)\)?=>\{?process\.exit\(\3\.ok\?0:1\);?\}?(?:,\(\w*\)=>\{?process\.exit\(1\);?\}?)?\)(?:\.catch\(\(?\w*\)?=>\{?process\.exit\(1\);?\}?\))?;?$/;

/** Node's fetch came in 18; the official images (and realstack's stand-in) say their version. */
function nodeFetch(args: Word[], target: ProbeTarget, env: Record<string, string>): boolean {
  const major = Number(/^v?(\d+)\./.exec(env.NODE_VERSION ?? '')?.[1] ?? 0);
  if (major < 18) return false;
  const [flag, code, ...rest] = args;
  if (!flag || !code || rest.length > 0 || !['-e', '--eval'].includes(flag.text) || code.expands)
    return false;
  const m = FETCH_OK.exec(code.text.replace(/\s+/g, ''));
  return !!m && sameUrl({ text: m[2] as string, expands: false }, target, new Set(['127.0.0.1']));
}

const PROXIES = ['http_proxy', 'HTTP_PROXY', 'all_proxy', 'ALL_PROXY'];

/**
 * The programs a container's check runs, when its pass follows from the probe of `target`
 * having passed; undefined where the check must run. `env` is the container's environment.
 */
export function answeredByProbe(
  test: string[] | undefined,
  target: ProbeTarget,
  env: Record<string, string>,
): string[] | undefined {
  const words = test && checkWords(test, env);
  if (!test || !words?.length || words[0]?.expands) return undefined;
  const programs = test[0] === 'CMD-SHELL' ? ['/bin/sh'] : [];
  let at = 0;
  // `env -u NODE_OPTIONS node -e ...`: the reference stack keeps the coverage spy out of its check.
  if (words[0]?.text === 'env') {
    programs.push('env');
    at = 1;
    while (words[at]?.text === '-u' && words[at + 1] && !words[at + 1]?.expands) at += 2;
  }
  const program = words[at]?.text ?? '';
  const args = words.slice(at + 1);
  const name = program.split('/').at(-1);
  const http = name === 'curl' || name === 'wget' || name === 'node';
  if (http && PROXIES.some((v) => v in env)) return undefined;
  const answered =
    name === 'pg_isready'
      ? pgIsready(args, target, env)
      : name === 'curl'
        ? curl(args, target)
        : name === 'wget'
          ? wget(args, target)
          : name === 'node' && nodeFetch(args, target, env);
  return answered ? [...programs, program] : undefined;
}
