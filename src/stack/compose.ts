import { existsSync, readFileSync } from 'node:fs';
import { constants } from 'node:os';
import path from 'node:path';
import { parse as parseDotenv } from 'dotenv';
import { type ProjectConfig, ROLES, type Role, type ServiceConfig } from '../config/project.js';
import type { ToolkitConfig } from '../config/toolkit.js';
import { ComposeFileError, UserError } from '../errors.js';
import { cachedYaml, yaml } from '../util/yaml.js';
import { inferService } from './infer.js';
import { InterpolationError, interpolate } from './interpolate.js';
import { readPorts } from './ports.js';
import { composeNames, reachedPorts } from './references.js';
import { restartPolicy } from './restart.js';
import type { Condition, FileMount, ServiceSpec, StackSpec } from './spec.js';

type Yaml = Record<string, unknown>;

export const isMap = (v: unknown): v is Yaml => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Compose's list-or-map forms (`environment`, `labels`) as one map; `KEY` alone is null (from the environment). */
function asMap(v: unknown): Record<string, string | null> {
  if (Array.isArray(v)) {
    return Object.fromEntries(
      v.map((item) => {
        const s = String(item);
        const i = s.indexOf('=');
        return i < 0 ? [s, null] : [s.slice(0, i), s.slice(i + 1)];
      }),
    );
  }
  if (isMap(v))
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, x == null ? null : String(x)]));
  return {};
}

/** `depends_on` in either form as the long one. */
function dependsMap(v: unknown): Record<string, Yaml> {
  if (Array.isArray(v))
    return Object.fromEntries(v.map((s) => [String(s), { condition: 'service_started' }]));
  return isMap(v) ? (v as Record<string, Yaml>) : {};
}

/**
 * The services a container cannot start before, though depends_on does not name them: compose
 * starts these first too (a network, IPC or PID namespace to join, volumes to take, links).
 */
function implicitDependencies(svc: Yaml): string[] {
  const shared = [svc.network_mode, svc.ipc, svc.pid].flatMap((v) =>
    typeof v === 'string' && v.startsWith('service:') ? [v.slice('service:'.length)] : [],
  );
  const list = (v: unknown) => (Array.isArray(v) ? v.map(String) : []);
  const volumesFrom = list(svc.volumes_from)
    .filter((v) => !v.startsWith('container:'))
    .map((v) => v.replace(/^service:/, '').split(':')[0] as string);
  const links = list(svc.links).map((l) => l.split(':')[0] as string);
  return [...new Set([...shared, ...volumesFrom, ...links])];
}

const mountTarget = (v: unknown): string =>
  isMap(v) ? String(v.target ?? '') : (String(v).split(':')[1] ?? String(v));

/**
 * Overlay files merge as compose merges them: maps deep, environment/labels by key, volumes by
 * mount target, ports and env files appended, depends_on by service; other lists replaced.
 */
function merge(base: unknown, over: unknown, key = ''): unknown {
  if (key === 'environment' || key === 'labels') return { ...asMap(base), ...asMap(over) };
  if (key === 'depends_on') return { ...dependsMap(base), ...dependsMap(over) };
  if (key === 'volumes' && Array.isArray(base) && Array.isArray(over)) {
    const targets = new Set(over.map(mountTarget));
    return [...base.filter((v) => !targets.has(mountTarget(v))), ...over];
  }
  if (
    (key === 'ports' || key === 'env_file' || key === 'expose') &&
    Array.isArray(base) &&
    Array.isArray(over)
  )
    return [...base, ...over];
  if (isMap(base) && isMap(over)) {
    const out: Yaml = { ...base };
    for (const [k, v] of Object.entries(over)) out[k] = k in base ? merge(base[k], v, k) : v;
    return out;
  }
  return over;
}

/** Where the official images listen, for a service whose compose file says no port. */
const ROLE_PORTS: Partial<Record<Role, number>> = { postgres: 5432, redis: 6379 };

/**
 * The port a service is reached on, published on an ephemeral port of 127.0.0.1 when the compose
 * file publishes it nowhere (a database only other containers reach): the tests, readiness,
 * `cleanup` and `db backup` reach it from this machine on docker, as they do on the process
 * engine. A service in another's network namespace (`network_mode`) cannot publish a port.
 */
function publishReached(spec: ServiceSpec, svc: Yaml): void {
  spec.containerPort ??= ROLE_PORTS[spec.role];
  const port = spec.containerPort;
  if (port === undefined || svc.network_mode !== undefined || spec.ports.some((p) => p.container === port))
    return;
  spec.ports.push({ container: port, protocol: 'tcp', hostIp: '127.0.0.1' });
  spec.notes.push({
    kind: 'changed',
    text: `port ${port} is published on an ephemeral port of 127.0.0.1, which the compose file does not do, so that tests and realstack reach ${spec.name} from this machine`,
  });
}

/**
 * A Node service that nothing says listens on a port, but that others reach at one (`USERS_URL:
 * http://users:4000`): compose needs no `expose:` between containers, and the process engine
 * needs the port to give the service one of its own (PORT) and rewrite the address. One port,
 * as its peers write it; with several, the compose file must say (`up` names the addresses).
 */
function listensWhereReached(services: ServiceSpec[], model: Yaml): void {
  const reached = reachedPorts(services, composeNames({ model }));
  for (const spec of services) {
    const ports = [...(reached.get(spec.name) ?? [])];
    const [only] = ports;
    if (spec.role !== 'node' || spec.containerPort !== undefined || ports.length !== 1 || !only) continue;
    const [port, by] = only;
    spec.containerPort = port;
    spec.notes.push({
      kind: 'inferred',
      text: `listens on ${port} (${by} reaches it there; expose or publish a port in the compose file to change it)`,
    });
    publishReached(spec, (model.services as Record<string, Yaml>)[spec.name] ?? {});
  }
}

/**
 * The instances compose starts of a service: `deploy.replicas` (compose v2 honours it; v1 only
 * with --compatibility, so realstack passes it as --scale on both) or the older `scale`.
 */
function replicas(spec: ServiceSpec, svc: Yaml, where: string): void {
  const deploy = isMap(svc.deploy) ? svc.deploy : {};
  const [key, value] =
    deploy.replicas !== undefined ? ['deploy.replicas', deploy.replicas] : ['scale', svc.scale];
  if (value === undefined || value === null) return;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0)
    throw new ComposeFileError(
      `${where}: ${key} is ${JSON.stringify(value)}; it must be a whole number of instances.`,
    );
  if (n === 0)
    spec.notes.push({
      kind: 'warning',
      text: `${key}: 0 starts no container of it in compose; realstack starts one, as it leaves services out only by profile (give it \`profiles: [off]\` to leave it out)`,
    });
  else if (n > 1) spec.replicas = n;
}

function parseYaml(file: string, text: string): unknown {
  const { LineCounter, parseDocument } = yaml();
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { merge: true, lineCounter, prettyErrors: false });
  if (doc.errors.length > 0) {
    const e = doc.errors[0] as (typeof doc.errors)[number];
    const pos = lineCounter.linePos(e.pos[0]);
    throw new ComposeFileError(
      `${file}:${pos.line}:${pos.col}: the compose file does not parse: ${e.message.split('\n')[0]}. Fix the YAML at that line.`,
    );
  }
  return doc.toJS({ maxAliasCount: 100 });
}

function readYaml(file: string): Yaml {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ComposeFileError(
      `cannot read compose file ${file}: ${(err as NodeJS.ErrnoException).code}. Name the stack's files in REALSTACK_COMPOSE_FILES, realstack.json's compose.files or compose's own COMPOSE_FILE.`,
    );
  }
  const value = cachedYaml('compose file', text, () => parseYaml(file, text));
  // A file of `include:` alone is a compose file too: its services come from the files it names.
  if (isMap(value) && value.include !== undefined && value.services === undefined) value.services = {};
  if (!isMap(value) || !isMap(value.services)) {
    throw new ComposeFileError(`${file}: no "services:" map found; is this a compose file?`);
  }
  return value;
}

/** What a service never takes from the one it extends: they name other services of that file. */
const NOT_INHERITED = new Set(['depends_on', 'links', 'volumes_from']);

/** A service's relative paths (build context, env files, bind mounts) made absolute from `dir`. */
function absolutePaths(svc: Yaml, dir: string): Yaml {
  const abs = (p: unknown) => (typeof p === 'string' && !path.isAbsolute(p) ? path.resolve(dir, p) : p);
  const out: Yaml = { ...svc };
  if (typeof svc.build === 'string') out.build = abs(svc.build);
  else if (isMap(svc.build)) out.build = { ...svc.build, context: abs(svc.build.context ?? '.') };
  if (svc.env_file !== undefined)
    out.env_file = (Array.isArray(svc.env_file) ? svc.env_file : [svc.env_file]).map((f) =>
      isMap(f) ? { ...f, path: abs(f.path) } : abs(f),
    );
  if (Array.isArray(svc.volumes))
    out.volumes = svc.volumes.map((v) => {
      if (isMap(v)) return v.type === 'bind' ? { ...v, source: abs(v.source) } : v;
      const [source, ...rest] = String(v).split(':');
      return source?.startsWith('.') ? [abs(source), ...rest].join(':') : v;
    });
  return out;
}

/**
 * A service with its `extends` applied, as compose applies it: the service it names (in this
 * file, or in `file`, whose relative paths are then taken from that file's folder), itself
 * resolved first, with this service's own keys merged over it.
 */
function extended(file: string, services: Yaml, name: string, seen: string[]): unknown {
  const svc = services[name];
  if (!isMap(svc) || svc.extends === undefined) return svc;
  const where = `${file}: service "${name}"`;
  const ref = typeof svc.extends === 'string' ? { service: svc.extends } : svc.extends;
  if (!isMap(ref) || typeof ref.service !== 'string')
    throw new ComposeFileError(
      `${where}: "extends" names no service; write extends: {service: NAME, file: FILE}`,
    );
  const other = typeof ref.file === 'string' ? path.resolve(path.dirname(file), ref.file) : file;
  const step = `${path.basename(other)}:${ref.service}`;
  if (seen.includes(step))
    throw new ComposeFileError(`${where}: "extends" goes round in a circle: ${[...seen, step].join(' → ')}`);
  const pool = other === file ? services : (readYaml(other).services as Yaml);
  if (!isMap(pool[ref.service]))
    throw new ComposeFileError(
      `${where} extends service "${ref.service}", which ${other} does not have; it has ${Object.keys(pool).join(', ')}`,
    );
  const base = extended(other, pool, ref.service, [...seen, step]) as Yaml;
  const inherited = Object.fromEntries(Object.entries(base).filter(([k]) => !NOT_INHERITED.has(k)));
  const { extends: _extends, ...own } = svc;
  return merge(other === file ? inherited : absolutePaths(inherited, path.dirname(other)), own);
}

/** The top-level resources a file declares beside its services, which `include` brings along. */
const RESOURCES = ['volumes', 'networks', 'secrets', 'configs'] as const;

/**
 * A compose file's `include:` (compose 2.20) applied, as compose applies it: each entry's files
 * (merged as overlays of one another) read from their own folder (or `project_directory`), their
 * services and resources added to this file's; a name both declare is refused, as compose
 * refuses it. Compose v1 has no `include`: the run's one compose file has it all.
 */
function withIncludes(file: string, doc: Yaml, seen: string[]): Yaml {
  const { include, ...own } = doc;
  if (include === undefined) return doc;
  const out: Yaml = { ...own, services: { ...(own.services as Yaml) } };
  for (const item of Array.isArray(include) ? include : [include]) {
    const entry: Yaml = isMap(item) ? item : { path: item };
    if (entry.path === undefined || (Array.isArray(entry.path) && entry.path.length === 0))
      throw new ComposeFileError(`${file}: an include names no file; write include: [path/to/compose.yaml]`);
    const paths = (Array.isArray(entry.path) ? entry.path : [entry.path]).map((p) =>
      path.resolve(path.dirname(file), String(p)),
    );
    const again = paths.find((p) => seen.includes(p));
    if (again)
      throw new ComposeFileError(`${file}: include goes round in a circle: ${[...seen, again].join(' → ')}`);
    const included = paths.map((p) => readComposeFile(p, [...seen, p])).reduce((a, b) => merge(a, b) as Yaml);
    const dir =
      typeof entry.project_directory === 'string'
        ? path.resolve(path.dirname(file), entry.project_directory)
        : path.dirname(paths[0] as string);
    for (const [name, svc] of Object.entries(included.services as Yaml)) {
      if (name in (out.services as Yaml))
        throw new ComposeFileError(
          `${file}: service "${name}" is declared here and in ${paths.join(', ')}, which it includes; compose refuses that too: rename one.`,
        );
      (out.services as Yaml)[name] = isMap(svc) ? absolutePaths(svc, dir) : svc;
    }
    for (const key of RESOURCES) {
      if (!isMap(included[key])) continue;
      const mine: Yaml = { ...(isMap(out[key]) ? (out[key] as Yaml) : {}) };
      for (const [name, value] of Object.entries(included[key] as Yaml)) {
        if (name in mine)
          throw new ComposeFileError(
            `${file}: ${key} "${name}" is declared here and in ${paths.join(', ')}, which it includes; rename one.`,
          );
        mine[name] =
          isMap(value) && typeof value.file === 'string'
            ? { ...value, file: path.resolve(dir, value.file) }
            : value;
      }
      out[key] = mine;
    }
  }
  return out;
}

/** A compose file as read, with its `include:` and every service's `extends` applied. */
function readComposeFile(file: string, seen: string[] = [file]): Yaml {
  const doc = readYaml(file);
  const services = doc.services as Yaml;
  const names = Object.keys(services);
  return withIncludes(
    file,
    {
      ...doc,
      services: Object.fromEntries(
        names.map((n) => [n, extended(file, services, n, [`${path.basename(file)}:${n}`])]),
      ),
    },
    seen,
  );
}

/** Interpolates every string value of the model, as compose does (keys are left alone). */
function interpolateAll(
  value: unknown,
  env: Record<string, string | undefined>,
  where: string,
  files: string,
): unknown {
  if (typeof value === 'string') {
    try {
      return interpolate(value, env);
    } catch (err) {
      if (err instanceof InterpolationError) throw new ComposeFileError(`${files}, ${where}: ${err.message}`);
      throw err;
    }
  }
  if (Array.isArray(value)) return value.map((v, i) => interpolateAll(v, env, `${where}[${i}]`, files));
  if (isMap(value))
    return Object.fromEntries(
      Object.entries(value).map(([k, v]) => [k, interpolateAll(v, env, where ? `${where}.${k}` : k, files)]),
    );
  return value;
}

const UNITS: Record<string, number> = { h: 3600, m: 60, s: 1, ms: 0.001, us: 0.000001 };

/** A compose duration ("1m30s", "500ms", "15s") in seconds; compose's default of 10 s when absent or unreadable. */
function seconds(v: unknown): number {
  if (v === undefined) return 10;
  const s = String(v).trim();
  if (/^\d+(\.\d+)?$/.test(s)) return Number(s);
  const parts = [...s.matchAll(/(\d+(?:\.\d+)?)(ms|us|h|m|s)/g)];
  if (parts.length === 0 || parts.map((m) => m[0]).join('') !== s) return 10;
  return parts.reduce((sum, m) => sum + Number(m[1]) * (UNITS[m[2] as string] as number), 0);
}

/** `stop_signal` as compose reads it (`SIGINT`, `INT`), when it is not SIGTERM; not a signal is named. */
function stopSignal(v: unknown, where: string): { stopSignal?: NodeJS.Signals } {
  if (v === undefined || v === null) return {};
  const name = String(v)
    .toUpperCase()
    .replace(/^(?!SIG)/, 'SIG');
  if (!Object.hasOwn(constants.signals, name))
    throw new ComposeFileError(
      `${where}: stop_signal ${String(v)} is not a signal; write one as compose does, SIGINT`,
    );
  return name === 'SIGTERM' ? {} : { stopSignal: name as NodeJS.Signals };
}

/**
 * A service's environment as compose gives it: its env_file, then its environment (a variable
 * written without a value comes from `env`, or is left out).
 */
export function composeEnvironment(
  svc: Yaml,
  projectDir: string,
  env: Record<string, string | undefined>,
  where: string,
): Record<string, string> {
  const environment = envFiles(svc.env_file, projectDir, where);
  for (const [k, v] of Object.entries(asMap(svc.environment))) {
    const value = v ?? env[k];
    if (value !== undefined) environment[k] = value;
    else delete environment[k];
  }
  return environment;
}

/** env_file in its three forms, absolute; a required file that is missing is an error. */
function envFiles(v: unknown, projectDir: string, where: string): Record<string, string> {
  const list = v === undefined ? [] : Array.isArray(v) ? v : [v];
  const env: Record<string, string> = {};
  for (const item of list) {
    const file = path.resolve(projectDir, String(isMap(item) ? item.path : item));
    const required = isMap(item) ? item.required !== false : true;
    if (!existsSync(file)) {
      if (required)
        throw new ComposeFileError(
          `${where}: env_file ${path.relative(projectDir, file)} does not exist. Create it (often from an example file), or mark it "required: false".`,
        );
      continue;
    }
    Object.assign(env, parseDotenv(readFileSync(file)));
  }
  return env;
}

/**
 * The files a service's secrets or configs hold on the host, where it sees them (`under` the
 * folder compose puts them in, or the long form's target): the ones a top-level entry gives a
 * `file` for, or its text (`environment: VAR`, a config's `content:`), which an engine writes
 * into the run. An `external` one has no file here.
 */
function serviceFiles(
  v: unknown,
  model: Yaml,
  kind: 'secrets' | 'configs',
  env: Record<string, string | undefined>,
  projectDir: string,
): FileMount[] {
  const top = isMap(model[kind]) ? (model[kind] as Yaml) : {};
  const under = kind === 'secrets' ? '/run/secrets' : '/';
  return (Array.isArray(v) ? v : []).flatMap((s): FileMount[] => {
    const source = String(isMap(s) ? s.source : s);
    const target = isMap(s) && typeof s.target === 'string' ? s.target : source;
    const container = path.posix.resolve(under, target);
    const declared = isMap(top[source]) ? (top[source] as Yaml) : {};
    if (typeof declared.file === 'string')
      return [{ container, host: path.resolve(projectDir, declared.file) }];
    const text = inlineText(declared, `${kind}.${source}`, env);
    return text === undefined ? [] : [{ container, host: '', inline: `${kind}.${source}`, text }];
  });
}

/** The text compose gives a secret or config itself: a variable's value, or a config's `content`. */
function inlineText(
  declared: Yaml,
  key: string,
  env: Record<string, string | undefined>,
): string | undefined {
  if (typeof declared.content === 'string') return declared.content;
  if (typeof declared.environment !== 'string') return undefined;
  const value = env[declared.environment];
  if (value === undefined)
    throw new UserError(
      `${key} reads the variable ${declared.environment}, which is not set: set it in the environment or in the project's .env.`,
    );
  return value;
}

/** The URL a health check fetches from its own container, read from its words; undefined where it names none. */
function checkFetches(test: unknown): ServiceSpec['checkFetches'] {
  const words = Array.isArray(test) ? test.slice(1).map(String) : typeof test === 'string' ? [test] : [];
  const m = /\bhttps?:\/\/(?:localhost|127\.0\.0\.1|0\.0\.0\.0|\[::1\])(?::(\d+))?(\/[^\s'"`)]*)/.exec(
    words.join(' '),
  );
  return m ? { port: Number(m[1] ?? 80), path: m[2] as string } : undefined;
}

const CONDITIONS: Condition[] = ['service_started', 'service_healthy', 'service_completed_successfully'];

function labelConfig(labels: Record<string, string | null>, where: string): ServiceConfig {
  const l = (k: string) => labels[`dev.realstack.${k}`] ?? undefined;
  const out: ServiceConfig = {};
  const role = l('role');
  if (role && (ROLES as readonly string[]).includes(role)) out.role = role as Role;
  const root = l('source-root');
  if (root) {
    if (!/^\/[^=]*=[^=]+$/.test(root))
      throw new ComposeFileError(
        `${where}: label dev.realstack.source-root must read CONTAINER_PATH=HOST_PATH`,
      );
    out.sourceRoot = root;
  }
  const health = l('health-path');
  if (health) out.healthPath = health;
  if (l('known-port') === 'true') out.knownPort = true;
  const entry = l('entry');
  if (entry) out.entry = entry.split(',').map((s) => s.trim());
  return out;
}

/** Every profile the stack's services name, in its files and those they include or extend. */
export function stackProfiles(files: string[]): string[] {
  const profiles = new Set<string>();
  for (const file of files.filter((f) => existsSync(f)))
    for (const svc of Object.values(readComposeFile(path.resolve(file)).services as Yaml))
      for (const p of isMap(svc) && Array.isArray(svc.profiles) ? svc.profiles : []) profiles.add(String(p));
  return [...profiles];
}

/**
 * Reads and merges compose files into the toolkit's view of the stack, with realstack.json's
 * service settings over the dev.realstack.* labels over what can be inferred.
 */
export function loadStack(
  files: string[],
  env: Record<string, string | undefined>,
  options: { project?: ProjectConfig; profiles?: string[]; projectDir?: string } = {},
): StackSpec {
  const abs = files.map((f) => path.resolve(f));
  const projectDir = options.projectDir ?? path.dirname(abs[0] as string);
  const raw = abs.map((f) => readComposeFile(f)).reduce((a, b) => merge(a, b) as Yaml);
  const model = interpolateAll(raw, env, '', abs.join(' + ')) as Yaml;
  const rawServices = raw.services as Yaml;
  const profiles = new Set(options.profiles ?? []);
  const settings = options.project?.services ?? {};
  for (const name of Object.keys(settings)) {
    if (!(name in (model.services as Yaml)))
      throw new UserError(
        `realstack.json names service "${name}", which no compose file has; the services are ${Object.keys(model.services as Yaml).join(', ')}.`,
      );
  }

  const services: ServiceSpec[] = [];
  const inactive: StackSpec['inactive'] = [];
  for (const [name, svc] of Object.entries(model.services as Yaml)) {
    const where = `${abs[0]}: service "${name}"`;
    if (!isMap(svc)) throw new ComposeFileError(`${where} is not a map`);
    const own = Array.isArray(svc.profiles) ? svc.profiles.map(String) : [];
    if (own.length > 0 && !own.some((p) => profiles.has(p))) {
      inactive.push({ name, profiles: own });
      continue;
    }
    const config = { ...labelConfig(asMap(svc.labels), where), ...settings[name] };
    const environment = composeEnvironment(svc, projectDir, env, where);
    const binds = (Array.isArray(svc.volumes) ? svc.volumes : []).flatMap((v) => {
      const [host, container] = isMap(v)
        ? v.type === 'bind'
          ? [String(v.source), String(v.target)]
          : []
        : String(v).split(':');
      return host && container && /^[./~]/.test(host)
        ? [{ host: path.resolve(projectDir, host.replace(/^~(?=\/|$)/, process.env.HOME ?? '~')), container }]
        : [];
    });
    // A secret is at /run/secrets/<name> unless its target says; a config at /<name>.
    const fileMounts = [
      ...serviceFiles(svc.secrets, model, 'secrets', env, projectDir),
      ...serviceFiles(svc.configs, model, 'configs', env, projectDir),
    ];
    const declared = dependsMap(svc.depends_on);
    for (const service of implicitDependencies(svc)) declared[service] ??= { condition: 'service_started' };
    const dependsOn = Object.entries(declared).map(([service, d]) => {
      const condition = (d.condition ?? 'service_started') as Condition;
      if (!CONDITIONS.includes(condition))
        throw new ComposeFileError(
          `${where}: depends_on ${service} has condition "${condition}"; compose knows ${CONDITIONS.join(', ')}`,
        );
      return { service, condition, ...(d.required === false ? { required: false as const } : {}) };
    });
    const { ports, notes, knownPortVar } = readPorts((rawServices[name] as Yaml).ports, svc.ports, env, {
      pinned: config.pinPorts === true,
      knownPort: config.knownPort === true,
      where,
    });
    const health = isMap(svc.healthcheck) ? svc.healthcheck : undefined;
    const test = health?.test;
    const spec: ServiceSpec = {
      name,
      role: 'other',
      environment,
      ports,
      binds,
      fileMounts,
      healthcheck:
        health !== undefined && health.disable !== true && !(Array.isArray(test) && test[0] === 'NONE'),
      stopGraceSeconds: seconds(svc.stop_grace_period),
      ...stopSignal(svc.stop_signal, where),
      dependsOn,
      tty: svc.tty === true,
      coverage: false,
      notes: notes.map((text) => ({ kind: 'changed', text })),
    };
    const fetches = checkFetches(test);
    if (fetches && spec.healthcheck) spec.checkFetches = fetches;
    const restart = restartPolicy(svc, where);
    if (restart) spec.restart = restart;
    if (typeof svc.image === 'string') spec.image = svc.image;
    if (isMap(svc.build) || typeof svc.build === 'string') {
      const b = isMap(svc.build) ? svc.build : { context: svc.build };
      const context = path.resolve(projectDir, String(b.context ?? '.'));
      spec.build = {
        context,
        dockerfile: path.resolve(context, String(b.dockerfile ?? 'Dockerfile')),
        args: Object.fromEntries(
          Object.entries(asMap(b.args)).flatMap(([k, v]) => (v === null ? [] : [[k, v]])),
        ),
        ...(typeof b.target === 'string' ? { target: b.target } : {}),
      };
    }
    if (typeof svc.working_dir === 'string') spec.workingDir = svc.working_dir;
    if (typeof svc.container_name === 'string')
      spec.notes.push({
        kind: 'changed',
        text: `container_name ${svc.container_name} is dropped: every run names its own containers, so two runs never clash`,
      });
    if (knownPortVar) spec.knownPortVar = knownPortVar;
    replicas(spec, svc, where);
    const exposed = (Array.isArray(svc.expose) ? svc.expose : []).map((e) => Number(String(e).split('/')[0]));
    const first = ports[0];
    const containerPort = first?.container ?? exposed[0];
    if (containerPort !== undefined && Number.isInteger(containerPort)) spec.containerPort = containerPort;
    if (first?.host !== undefined) spec.hostPort = first.host;
    if (config.healthPath) spec.healthPath = config.healthPath;
    if (config.testData) spec.testData = config.testData;
    if (config.sqlCleanup) spec.sqlCleanup = config.sqlCleanup;
    if (config.hostModules) spec.hostModules = config.hostModules;
    inferService(spec, svc, config, projectDir);
    publishReached(spec, svc);
    services.push(spec);
  }

  listensWhereReached(services, model);
  const active = new Set(services.map((s) => s.name));
  for (const s of services) {
    // `required: false`: compose starts the service without a dependency that does not run.
    const optional = s.dependsOn.filter((d) => d.required === false && !active.has(d.service));
    for (const d of optional)
      s.notes.push({
        kind: 'changed',
        text: `starts without ${d.service} (depends_on, required: false), which ${inactive.some((i) => i.name === d.service) ? 'this run leaves out by its profiles' : 'is not a service'}`,
      });
    s.dependsOn = s.dependsOn.filter((d) => !optional.includes(d));
    for (const d of s.dependsOn) {
      const off = inactive.find((i) => i.name === d.service);
      if (off)
        throw new UserError(
          `service "${s.name}" depends on "${d.service}", which only starts with the profile ${off.profiles.join(' or ')}: set COMPOSE_PROFILES=${off.profiles[0]} (or compose.profiles in realstack.json).`,
        );
      if (!active.has(d.service))
        throw new ComposeFileError(
          `${abs[0]}: service "${s.name}" depends on "${d.service}", which is not a service`,
        );
    }
  }
  if (services.length === 0) {
    const all = [...new Set(inactive.flatMap((i) => i.profiles))];
    throw new UserError(
      `no service of the stack is active: every one has a profile (${all.join(', ')}). Set COMPOSE_PROFILES=${all[0]} or compose.profiles in realstack.json.`,
    );
  }
  return {
    files: abs,
    projectDir,
    services,
    inactive,
    volumes: runResources(model, 'volumes', services),
    networks: runResources(model, 'networks', services),
    model,
  };
}

/**
 * The top-level volumes or networks a run creates: every one, an `external` one too, each the
 * run's own, and without its fixed `name:` (engine/run-file.ts): a test run starts from empty
 * data, joins nothing outside itself, and two runs never share one. The services that use one
 * the file says otherwise of are told.
 */
function runResources(model: Yaml, key: 'volumes' | 'networks', services: ServiceSpec[]): string[] {
  const declared = isMap(model[key]) ? (model[key] as Yaml) : {};
  const raws = model.services as Record<string, Yaml>;
  for (const [name, v] of Object.entries(declared)) {
    if (!isMap(v)) continue;
    const external = v.external === true || isMap(v.external);
    const fixed = typeof v.name === 'string' ? v.name : undefined;
    if (!external && !fixed) continue;
    const what = key === 'volumes' ? 'volume' : 'network';
    const text = external
      ? `${what} ${name} (external${fixed ? `: ${fixed}` : ''}) is the run's own: ${key === 'volumes' ? 'empty at its start, and yours is left alone' : 'a test run joins nothing outside itself'}`
      : `${what} ${name}'s name ${fixed} is dropped: each run has its own, so that two runs never share one`;
    for (const svc of services) {
      const raw = raws[svc.name]?.[key];
      const uses =
        key === 'volumes'
          ? Array.isArray(raw) &&
            raw.some((m) =>
              isMap(m) ? m.type === 'volume' && m.source === name : String(m).split(':')[0] === name,
            )
          : Array.isArray(raw)
            ? raw.map(String).includes(name)
            : isMap(raw) && name in raw;
      if (uses) svc.notes.push({ kind: 'changed', text });
    }
  }
  return Object.keys(declared);
}

/** The stack of the project's compose files, profiles and realstack.json, as it reads now. */
export const projectStack = (config: ToolkitConfig): StackSpec =>
  loadStack(config.composeFiles, config.env, {
    project: config.project,
    profiles: config.profiles,
    projectDir: config.projectDir,
  });
