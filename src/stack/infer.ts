import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import type { Role, ServiceConfig } from '../config/project.js';
import { FORWARDED_SIGNALS } from '../engine/process-group.js';
import { about, UserError } from '../errors.js';
import { within } from '../util/files.js';
import { type Copy, copiesContext, type Dockerfile, readDockerfile } from './dockerfile.js';
import { initScripts, postgresFlags, postgresSettings, runsOnHost } from './postgres-settings.js';
import { REDIS_IMAGE, redisArgs, redisServer } from './redis-settings.js';
import type { Note, ServiceSpec } from './spec.js';

const inferred = (text: string): Note => ({ kind: 'inferred', text });
const missing = (text: string): Note => ({ kind: 'missing', text });

/**
 * What realstack can tell of a service from its compose entry, its Dockerfile and its
 * package.json when nobody said: its role, where its files are, how to run it, which of its
 * processes are the service. Each guess is noted, with the setting that changes it.
 */

const WRAPPERS = new Set(['exec', 'env', 'nice', 'time', 'dumb-init', 'tini', '--']);
/** node's options whose value may come as the next word (`--env-file .env`), not a script. */
const NODE_VALUE_FLAGS = new Set([
  '-r',
  '--require',
  '--import',
  '--loader',
  '--experimental-loader',
  '--env-file',
  '--env-file-if-exists',
  '-C',
  '--conditions',
  '--title',
  '--input-type',
  '--inspect-port',
  '--redirect-warnings',
  '--unhandled-rejections',
  '--diagnostic-dir',
  '--report-dir',
  '--cpu-prof-dir',
  '--heap-prof-dir',
  '--icu-data-dir',
  '--openssl-config',
  // ts-node's and tsx's own.
  '-P',
  '--project',
  '-O',
  '--compiler-options',
  '--compiler',
  '--tsconfig',
  '--cwd',
  // ts-node-dev's (not `--watch`: node's own takes no value).
  '--ignore-watch',
  '--debounce',
  '--interval',
  '--dir',
]);
/** nodemon's options that take a value; its `-e` is --ext, not node's eval. */
const NODEMON_VALUE_FLAGS = new Set([
  '-P',
  '--polling-interval',
  '--watch',
  '-w',
  '--ext',
  '-e',
  '--ignore',
  '-i',
  '--delay',
  '-d',
  '--signal',
  '-s',
  '--config',
  '--cwd',
]);
/** nodemon's own options without a value; any other option goes to the command it runs. */
const NODEMON_FLAGS = new Set([
  '--exitcrash',
  '--no-colors',
  '--no-update-notifier',
  '-C',
  '--on-change-only',
  '-I',
  '--no-stdin',
  '--spawn',
  '-L',
  '--legacy-watch',
  '--dump',
  '-q',
  '--quiet',
  '-V',
  '--verbose',
]);
const NODE_COMMANDS = new Set([
  'node',
  'npm',
  'npx',
  'yarn',
  'pnpm',
  'tsx',
  'ts-node',
  'ts-node-dev',
  'tsnd',
  'nodemon',
]);
const POSTGRES_IMAGE = /(^|\/)(postgres|postgresql|postgis|timescaledb[\w-]*)(:|@|$)/;
const NODE_IMAGE = /(^|\/)node(:|@|$)/;

/** A command in exec form: compose's string form is split as a shell would split plain words. */
export function commandList(v: unknown): string[] | undefined {
  if (Array.isArray(v)) return v.map(String);
  if (typeof v !== 'string') return undefined;
  const words: string[] = [];
  for (const m of v.matchAll(/"((?:[^"\\]|\\.)*)"|'([^']*)'|(\S+)/g))
    words.push(m[1] !== undefined ? m[1].replace(/\\(.)/g, '$1') : (m[2] ?? (m[3] as string)));
  return words;
}

/**
 * The program one step of a command runs, and its arguments: past `VAR=x` assignments and
 * wrappers (`exec node server.js`, `env X=1 node ...`), and for `npx tsx src/server.ts` the
 * package command npx runs, after npx's own flags (`npx` is then true).
 */
export function programOf(step: string[]): { cmd?: string; args: string[]; npx: boolean } {
  const words = step.filter((w) => !/^[A-Za-z_][A-Za-z0-9_]*=/.test(w));
  while (words.length > 1 && WRAPPERS.has(path.posix.basename(words[0] as string))) words.shift();
  const [cmd, ...args] = words;
  if (cmd === undefined || path.posix.basename(cmd) !== 'npx') return { cmd, args, npx: false };
  const at = args.findIndex((a, i) => !a.startsWith('-') && !['-p', '--package'].includes(args[i - 1] ?? ''));
  return at < 0 ? { args: [], npx: true } : { cmd: args[at], args: args.slice(at + 1), npx: true };
}

/** The node scripts a command runs, in order: `node a.js && node b.js`, through sh -c and npm scripts. */
export function nodeScripts(command: string[], pkgDir: string | undefined, depth = 0): string[] {
  const words =
    command[0] === 'sh' || command[0] === '/bin/sh' || command[0] === 'bash' || command[0] === '/bin/bash'
      ? command[1] === '-c' && command[2] !== undefined
        ? (commandList(command[2]) ?? [])
        : command.slice(1)
      : command;
  const scripts: string[] = [];
  const steps: string[][] = [[]];
  for (const w of words) {
    if (['&&', '||', ';', '|'].includes(w)) steps.push([]);
    else (steps.at(-1) as string[]).push(w);
  }
  for (const step of steps) {
    const { cmd, args } = programOf(step);
    if (cmd === undefined) continue;
    const base = path.posix.basename(cmd);
    // `tsx watch src/server.ts`: the script follows tsx's subcommand.
    if (base === 'tsx' && args[0] === 'watch') args.shift();
    if (base === 'nodemon') {
      if (depth < 3) scripts.push(...nodeScripts(nodemonRuns(args), pkgDir, depth + 1));
    } else if (['node', 'tsx', 'ts-node', 'ts-node-dev', 'tsnd'].includes(base)) {
      const at = args.findIndex((a, i) => !a.startsWith('-') && !NODE_VALUE_FLAGS.has(args[i - 1] ?? ''));
      // `node -e "..."` runs the code it is given, not a script, whatever follows.
      const evals = args.slice(0, at < 0 ? args.length : at).some((a) => /^(-e|-p|--eval|--print)$/.test(a));
      const script = at < 0 || evals ? undefined : args[at];
      if (script) scripts.push(script.replace(/^\.\//, ''));
    } else if ((base === 'npm' || base === 'yarn' || base === 'pnpm') && pkgDir && depth < 3) {
      const name = args[0] === 'run' || args[0] === 'run-script' ? args[1] : args[0];
      const pkg = readPackage(pkgDir);
      const script = name ? pkg?.scripts?.[name] : undefined;
      if (script) {
        for (const hook of [`pre${name}`, name, `post${name}`]) {
          const s = pkg?.scripts?.[hook];
          if (s) scripts.push(...nodeScripts(['sh', '-c', s], pkgDir, depth + 1));
        }
      }
    } else if (NODE_COMMANDS.has(path.posix.basename(args[0] ?? '')) && depth < 3) {
      // An entrypoint script given the command to run (`docker-entrypoint.sh node server.js`):
      // it ends in `exec "$@"`, as the official node image's does.
      scripts.push(...nodeScripts(args, pkgDir, depth + 1));
    }
  }
  return scripts;
}

/**
 * The command nodemon runs: its --exec (`nodemon --exec ts-node src/server.ts`, `--exec "tsx
 * watch"`), else node, with its script, the script's arguments and the options nodemon does not
 * know, which it passes on (`nodemon --inspect src/index.js`).
 */
function nodemonRuns(args: string[]): string[] {
  let exec = ['node'];
  const rest: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i] as string;
    if (a === '--') {
      rest.push(...args.slice(i + 1));
      break;
    }
    if (a === '--exec' || a === '-x' || a.startsWith('--exec=')) {
      const value = a.startsWith('--exec=') ? a.slice('--exec='.length) : args[++i];
      exec = commandList(value ?? '') ?? exec;
    } else if (NODEMON_VALUE_FLAGS.has(a)) i++;
    else if (!NODEMON_FLAGS.has(a)) rest.push(a);
  }
  return [...exec, ...rest];
}

export function readPackage(dir: string): { scripts?: Record<string, string>; main?: string } | undefined {
  try {
    return JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8'));
  } catch {
    return undefined;
  }
}

function inferRole(spec: ServiceSpec, dockerfile: Dockerfile | undefined): { role: Role; why: string } {
  if (spec.image && POSTGRES_IMAGE.test(spec.image)) return { role: 'postgres', why: `image ${spec.image}` };
  const base = dockerfile?.base;
  if (base && POSTGRES_IMAGE.test(base))
    return { role: 'postgres', why: `its Dockerfile builds FROM ${base}` };
  if (spec.image && NODE_IMAGE.test(spec.image)) return { role: 'node', why: `image ${spec.image}` };
  if (spec.image && REDIS_IMAGE.test(spec.image)) return { role: 'redis', why: `image ${spec.image}` };
  if (dockerfile?.from.some((f) => NODE_IMAGE.test(f) || f.includes('NODE_IMAGE') || /node/.test(f)))
    return {
      role: 'node',
      why: `its Dockerfile builds FROM ${[...new Set(dockerfile.stages.flatMap((st, i) => (st.parent === undefined ? [dockerfile.from[i]] : [])))].join(', ')}`,
    };
  const first = spec.command?.[0] && path.posix.basename(spec.command[0]);
  if (first && NODE_COMMANDS.has(first)) return { role: 'node', why: `its command runs ${first}` };
  return { role: 'other', why: 'not a node, postgres or redis image' };
}

/** The container folder that holds the service's files, and the host folder it comes from. */
function inferSourceRoot(
  spec: ServiceSpec,
  dockerfile: Dockerfile | undefined,
): { container: string; host: string; why: string } | undefined {
  const workdir = spec.workingDir ?? dockerfile?.workdir;
  const covering = spec.binds
    .filter((b) => workdir !== undefined && within(workdir, b.container))
    .sort((a, b) => b.container.length - a.container.length)[0];
  if (covering)
    return {
      container: covering.container,
      host: covering.host,
      why: `the bind mount of ${covering.container}`,
    };
  if (!spec.build || !workdir) return undefined;
  // Where the Dockerfile puts the whole context (`COPY . .`, or a build stage's copy of it
  // brought over with COPY --from), when the command runs there or below: a monorepo's image
  // has the repository at /repo and runs in /repo/apps/api.
  const whole = dockerfile?.copies
    .filter((c) => copiesContext(c) && within(workdir, c.dest))
    .sort((a, b) => b.dest.length - a.dest.length)[0];
  const container = whole?.dest ?? workdir;
  return { container, host: spec.build.context, why: `its build context, copied to ${container}` };
}

/** Variables of a container's own that would be wrong for a process on this machine. */
const CONTAINER_ONLY = new Set(['PATH', 'HOME', 'HOSTNAME']);

/** The Dockerfile's ENV the service's processes see wherever they run, with a note of what is left out and why. */
function imageEnvironment(spec: ServiceSpec, dockerfile: Dockerfile): void {
  const entries = Object.entries(dockerfile.env);
  if (entries.length === 0) return;
  const taken = Object.fromEntries(
    entries.filter((e): e is [string, string] => e[1] !== undefined && !CONTAINER_ONLY.has(e[0])),
  );
  const own = entries.filter(([k]) => CONTAINER_ONLY.has(k)).map(([k]) => k);
  const unknown = entries.filter(([k, v]) => v === undefined && !CONTAINER_ONLY.has(k)).map(([k]) => k);
  if (Object.keys(taken).length > 0) spec.imageEnvironment = taken;
  const left = [
    ...(own.length ? [`${own.join(', ')} (the container's own)`] : []),
    ...(unknown.length ? [`${unknown.join(', ')} (naming variables of the base image)`] : []),
  ];
  spec.notes.push(
    inferred(
      `image environment ${Object.keys(taken).join(', ') || 'none'} (its Dockerfile's ENV, under the compose file's environment; the process engine sets it too${left.length ? `, leaving out ${left.join(' and ')}` : ''})`,
    ),
  );
}

/**
 * Where the image has what its Dockerfile copies from the build context: a file, or a folder's
 * contents (as COPY copies a folder). Patterns, URLs, what is not there and a copy over the
 * image's root (which would stand for every path) are left out.
 */
function imageFiles(context: string, copies: Copy[]): { container: string; host: string }[] {
  return copies.flatMap(({ sources, dest, intoDir }) =>
    sources.flatMap((src) => {
      if (/[*?[]/.test(src) || /^[a-z][a-z0-9+.-]*:\/\//i.test(src)) return [];
      const host = path.resolve(context, src);
      const stat = statSync(host, { throwIfNoEntry: false });
      if (!stat) return [];
      const container = intoDir && !stat.isDirectory() ? path.posix.join(dest, path.basename(src)) : dest;
      // A folder's contents go into dest; with several folders there, no one of them is it.
      if (container === '/' || (stat.isDirectory() && sources.length > 1)) return [];
      return [{ container, host }];
    }),
  );
}

export function inferService(
  spec: ServiceSpec,
  svc: Record<string, unknown>,
  config: ServiceConfig,
  projectDir: string,
): void {
  const { build } = spec;
  const dockerfile = build
    ? about(`service "${spec.name}"`, () => readDockerfile(build.dockerfile, build.args, build.target))
    : undefined;
  const rel = (p: string) => path.relative(projectDir, p) || '.';
  if (dockerfile && build) {
    imageEnvironment(spec, dockerfile);
    const files = imageFiles(build.context, dockerfile.copies);
    if (files.length > 0) spec.imageFiles = files;
    // As compose's `expose:`: the port other services reach it on, published or not. EXPOSE says
    // where the image's own command listens: a worker given a command of its own from the same
    // Dockerfile (`command: node worker.js`) listens on nothing.
    const exposed =
      svc.command === undefined && svc.entrypoint === undefined ? dockerfile.expose[0] : undefined;
    if (spec.containerPort === undefined && exposed !== undefined) {
      spec.containerPort = exposed;
      spec.notes.push(
        inferred(
          `listens on ${exposed} (its Dockerfile's EXPOSE; publish or expose another port in the compose file to change it)`,
        ),
      );
    }
  }

  if (config.role) spec.role = config.role;
  else {
    const { role, why } = inferRole(spec, dockerfile);
    spec.role = role;
    spec.notes.push(inferred(`role ${role} (${why}; set "role" in realstack.json to change it)`));
  }

  const entrypoint =
    commandList(svc.entrypoint) ?? (svc.command === undefined ? dockerfile?.entrypoint : undefined);
  const command = commandList(svc.command) ?? dockerfile?.cmd;
  const full = [...(entrypoint ?? []), ...(command ?? [])];
  if (config.command) spec.command = config.command;
  else if (full.length > 0) spec.command = full;
  if (spec.workingDir === undefined && dockerfile?.workdir) spec.workingDir = dockerfile.workdir;

  if (config.sourceRoot) {
    const [container, host] = config.sourceRoot.split('=') as [string, string];
    spec.sourceRoot = { container, host: path.resolve(projectDir, host) };
  } else if (spec.role === 'node') {
    const root = inferSourceRoot(spec, dockerfile);
    if (root) {
      spec.sourceRoot = { container: root.container, host: root.host };
      spec.notes.push(
        inferred(
          `source root ${root.container} = ${rel(root.host)} (${root.why}; set "sourceRoot" to change it)`,
        ),
      );
    } else
      spec.notes.push(
        missing(
          'source root unknown: no bind mount covers its working_dir and it has no build context; set "sourceRoot": "/app=." in realstack.json',
        ),
      );
  }

  if (spec.role !== 'node') return;
  spec.coverage = config.coverage ?? true;
  const [shell, flag, script] = spec.command ?? [];
  if (
    shell &&
    /^(\/bin\/)?(sh|bash)$/.test(shell) &&
    flag === '-c' &&
    script &&
    !/(^|&&|;)\s*exec\s/.test(script)
  )
    spec.notes.push({
      kind: 'warning',
      text: `its command runs in ${shell} as the container's PID 1, which ignores SIGTERM: a stop waits out the grace period and kills it (137, no coverage). Start its last step with \`exec\` (\`sh -c "... && exec node server.js"\`) or set \`init: true\``,
    });
  if (config.entry) spec.entry = config.entry;
  else if (spec.command && spec.sourceRoot) {
    const cwd = spec.workingDir ?? spec.sourceRoot.container;
    const hostCwd = path.join(spec.sourceRoot.host, path.posix.relative(spec.sourceRoot.container, cwd));
    const toRoot = (s: string) =>
      path.posix.relative(spec.sourceRoot?.container as string, path.posix.resolve(cwd, s));
    const scripts = nodeScripts(spec.command, hostCwd).map(toRoot);
    const entry = scripts.at(-1);
    if (entry && !entry.startsWith('..')) {
      spec.entry = [entry];
      const helpers = scripts.slice(0, -1);
      spec.notes.push(
        inferred(
          `entry ${entry} (the last node script its command runs${helpers.length ? `; ${helpers.join(', ')} before it ${helpers.length === 1 ? 'is a helper' : 'are helpers'}, left out of coverage` : ''}; set "entry" to change it)`,
        ),
      );
    }
  }
  if (!spec.entry)
    spec.notes.push(
      missing(
        'entry unknown: every Node process of the service is instrumented; set "entry": ["dist/server.js"] to name the service\'s own',
      ),
    );
}

/** A service the process engine cannot run, with what to do instead. */
export function processEngineRefusal(
  spec: ServiceSpec,
  env: NodeJS.ProcessEnv = process.env,
): UserError | undefined {
  if (spec.role === 'other')
    return new UserError(
      `the process engine cannot run service "${spec.name}"${spec.image ? ` (image ${spec.image})` : ''}: it runs Node services, PostgreSQL and Redis only. Use the docker engine (start dockerd), give it a profile that the run leaves out, or set "role" in realstack.json if it is a Node service.`,
    );
  if (spec.stopSignal && !(FORWARDED_SIGNALS as readonly string[]).includes(spec.stopSignal))
    return new UserError(
      `the process engine cannot stop service "${spec.name}" with its stop_signal ${spec.stopSignal}: it stops services with ${FORWARDED_SIGNALS.join(', ')}. Use one of those, or the docker engine.`,
    );
  if (spec.role === 'redis') {
    if (!redisServer(env))
      return new UserError(
        `the process engine runs service "${spec.name}"${spec.image ? ` (image ${spec.image})` : ''} with this machine's redis-server, and there is none on the PATH. Install it (\`apt-get install redis-server\` on Debian or Ubuntu; it need not run as a system service), or use the docker engine.`,
      );
    if (!redisArgs(spec))
      return new UserError(
        `the process engine cannot start service "${spec.name}": its command (${spec.command?.join(' ')}) does not run redis-server. It runs redis-server itself and takes its arguments from the command (\`command: redis-server --requirepass secret\`, or a config file first); use the docker engine for this one.`,
      );
  }
  if (spec.role === 'node' && (!spec.command || !spec.sourceRoot))
    return new UserError(
      `the process engine cannot run service "${spec.name}": ${!spec.command ? 'neither its compose entry nor its Dockerfile gives a command; set "command" in realstack.json' : 'its source root is unknown; set "sourceRoot": "/app=." in realstack.json'}.`,
    );
  if (spec.role === 'postgres') {
    const { unreadable } = postgresSettings(spec);
    if (unreadable)
      return new UserError(
        `the process engine cannot start service "${spec.name}": ${unreadable} names a file this machine does not have (it reads it on the host, from a bind mount or a secret with a \`file\`). Mount the file, or set the variable itself.`,
      );
    const refused = initScripts(spec).filter((f) => !runsOnHost(f.name));
    if (refused.length > 0)
      return new UserError(
        `the process engine cannot start service "${spec.name}": it runs only .sql and .sql.gz init scripts, not ${refused.map((f) => f.name).join(', ')} (they need the image's shell and tools). Use the docker engine, or write them as SQL.`,
      );
    if (!postgresFlags(spec))
      return new UserError(
        `the process engine cannot start service "${spec.name}": its command (${spec.command?.join(' ')}) does not run postgres. The process engine runs PostgreSQL itself and takes only postgres's flags from the command (\`command: postgres -c max_connections=200\`); use the docker engine for this one.`,
      );
  }
  return undefined;
}
