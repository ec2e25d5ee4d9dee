import { readFileSync } from 'node:fs';
import path from 'node:path';
import { LineCounter, parseDocument } from 'yaml';
import { UserError } from '../errors.js';
import { InterpolationError, interpolate } from './interpolate.js';

/** What the toolkit needs to know of one service of a compose file. */
export interface ServiceSpec {
  name: string;
  role: 'postgres' | 'node' | 'other';
  image?: string;
  /** Absolute build context, Dockerfile and build args, for services built from source. */
  build?: { context: string; dockerfile: string; args: Record<string, string> };
  command?: string[];
  workingDir?: string;
  environment: Record<string, string>;
  /** Container port published to the host, the first one listed. */
  containerPort?: number;
  /** Fixed host port asked for, or undefined for an ephemeral one. */
  hostPort?: number;
  /**
   * The variable that sets the host port (`127.0.0.1:${AUTH_PORT:-}:3000`), for a service
   * labelled dev.realstack.known-port: such a service must know its own public URL (an OAuth
   * issuer), so the toolkit chooses a free port and sets the variable before anything starts.
   */
  knownPortVar?: string;
  healthPath?: string;
  /**
   * A path of an OAuth-protected service that answers 200 to any valid access token
   * (label dev.realstack.token-probe): where `diagnose` ends its token round trip.
   */
  tokenProbe?: string;
  /** Container path and the host path it holds, from the `dev.realstack.source-root` label. */
  sourceRoot?: { container: string; host: string };
  /** Bind mounts of host paths (`./dir:/path[:ro]`), absolute on both sides. */
  binds: { container: string; host: string }[];
  stopGraceSeconds: number;
  dependsOn: string[];
}

export interface StackSpec {
  /** The compose files, absolute, in the order given. */
  files: string[];
  projectDir: string;
  services: ServiceSpec[];
  /** Top-level named volumes. */
  volumes: string[];
}

export class ComposeFileError extends UserError {
  override name = 'ComposeFileError';
}

type Yaml = Record<string, unknown>;

const isMap = (v: unknown): v is Yaml => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Compose's list-or-map forms (`environment`, `labels`) as one map. */
function asMap(v: unknown): Record<string, string> {
  if (Array.isArray(v)) {
    return Object.fromEntries(
      v.map((item) => {
        const s = String(item);
        const i = s.indexOf('=');
        return i < 0 ? [s, ''] : [s.slice(0, i), s.slice(i + 1)];
      }),
    );
  }
  if (isMap(v)) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, x == null ? '' : String(x)]));
  return {};
}

/** Overlay files merge as compose merges them: maps deep, environment/labels by key, lists appended. */
function merge(base: unknown, over: unknown, key = ''): unknown {
  if (key === 'environment' || key === 'labels') return { ...asMap(base), ...asMap(over) };
  if (isMap(base) && isMap(over)) {
    const out: Yaml = { ...base };
    for (const [k, v] of Object.entries(over)) out[k] = k in base ? merge(base[k], v, k) : v;
    return out;
  }
  if (Array.isArray(base) && Array.isArray(over) && (key === 'ports' || key === 'volumes')) {
    return [...base, ...over];
  }
  return over;
}

function readYaml(file: string): Yaml {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ComposeFileError(`cannot read compose file ${file}: ${(err as NodeJS.ErrnoException).code}`);
  }
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { merge: true, lineCounter, prettyErrors: false });
  if (doc.errors.length > 0) {
    const e = doc.errors[0] as (typeof doc.errors)[number];
    const pos = lineCounter.linePos(e.pos[0]);
    throw new ComposeFileError(
      `${file}:${pos.line}:${pos.col}: the compose file does not parse: ${e.message.split('\n')[0]}. Fix the YAML at that line.`,
    );
  }
  const value = doc.toJS({ maxAliasCount: 100 }) as unknown;
  if (!isMap(value) || !isMap(value.services)) {
    throw new ComposeFileError(`${file}: no "services:" map found; is this a compose file?`);
  }
  return value;
}

function parsePort(entry: unknown, where: string): { container: number; host?: number } {
  const s = isMap(entry) ? `${entry.host_ip ?? ''}:${entry.published ?? ''}:${entry.target}` : String(entry);
  const parts = s.split(':');
  const container = Number(parts.at(-1)?.split('/')[0]);
  const hostRaw = parts.length >= 2 ? parts.at(-2) : '';
  if (!Number.isInteger(container)) throw new ComposeFileError(`${where}: cannot read port "${s}"`);
  const host = hostRaw ? Number(hostRaw) : undefined;
  if (host !== undefined && !Number.isInteger(host))
    throw new ComposeFileError(`${where}: bad host port "${s}"`);
  return host === undefined ? { container } : { container, host };
}

function seconds(v: unknown): number {
  if (v === undefined) return 10;
  const m = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(String(v));
  if (!m) return 10;
  const n = Number(m[1]);
  return m[2] === 'ms' ? n / 1000 : m[2] === 'm' ? n * 60 : n;
}

/** Reads and merges compose files into the toolkit's view of the stack. */
export function loadStack(files: string[], env: Record<string, string | undefined>): StackSpec {
  const abs = files.map((f) => path.resolve(f));
  const projectDir = path.dirname(abs[0] as string);
  const merged = abs.map(readYaml).reduce((a, b) => merge(a, b) as Yaml);
  const services: ServiceSpec[] = [];
  for (const [name, raw] of Object.entries(merged.services as Yaml)) {
    if (!isMap(raw)) throw new ComposeFileError(`${abs[0]}: service "${name}" is not a map`);
    const where = `${abs[0]}: service "${name}"`;
    const sub = (v: unknown): string => {
      try {
        return interpolate(String(v), env);
      } catch (err) {
        if (err instanceof InterpolationError) throw new ComposeFileError(`${where}: ${err.message}`);
        throw err;
      }
    };
    const labels = Object.fromEntries(Object.entries(asMap(raw.labels)).map(([k, v]) => [k, sub(v)]));
    const environment = Object.fromEntries(
      Object.entries(asMap(raw.environment)).map(([k, v]) => [k, sub(v)]),
    );
    const ports = Array.isArray(raw.ports)
      ? raw.ports.map((p) => parsePort(isMap(p) ? p : sub(p), where))
      : [];
    const portVar = Array.isArray(raw.ports)
      ? /:\$\{(\w+)(?::?-[^}]*)?\}:\d+/.exec(String(raw.ports[0]))
      : null;
    if (labels['dev.realstack.known-port'] === 'true' && !portVar) {
      throw new ComposeFileError(
        `${where}: dev.realstack.known-port needs its first port published as "127.0.0.1:\${VAR:-}:PORT"`,
      );
    }
    const roleLabel = labels['dev.realstack.role'];
    const role = roleLabel === 'postgres' || roleLabel === 'node' ? roleLabel : 'other';
    const binds = (Array.isArray(raw.volumes) ? raw.volumes : [])
      .map((v) => sub(v).split(':'))
      .filter(([host, container]) => container && /^[./~]/.test(host as string))
      .map(([host, container]) => ({
        host: path.resolve(projectDir, host as string),
        container: container as string,
      }));
    const spec: ServiceSpec = {
      name,
      role,
      environment,
      binds,
      stopGraceSeconds: seconds(raw.stop_grace_period),
      dependsOn: Array.isArray(raw.depends_on)
        ? raw.depends_on.map(String)
        : isMap(raw.depends_on)
          ? Object.keys(raw.depends_on)
          : [],
    };
    if (raw.image !== undefined) spec.image = sub(raw.image);
    if (isMap(raw.build) || typeof raw.build === 'string') {
      const b = isMap(raw.build) ? raw.build : { context: raw.build };
      const context = path.resolve(projectDir, sub(b.context ?? '.'));
      spec.build = {
        context,
        dockerfile: path.resolve(context, sub(b.dockerfile ?? 'Dockerfile')),
        args: Object.fromEntries(Object.entries(asMap(b.args)).map(([k, v]) => [k, sub(v)])),
      };
    }
    if (Array.isArray(raw.command)) spec.command = raw.command.map((c) => sub(c));
    else if (typeof raw.command === 'string') spec.command = sub(raw.command).split(/\s+/).filter(Boolean);
    if (typeof raw.working_dir === 'string') spec.workingDir = sub(raw.working_dir);
    const first = ports[0];
    if (first) {
      spec.containerPort = first.container;
      if (first.host !== undefined) spec.hostPort = first.host;
    }
    if (labels['dev.realstack.health-path']) spec.healthPath = labels['dev.realstack.health-path'];
    if (labels['dev.realstack.token-probe']) spec.tokenProbe = labels['dev.realstack.token-probe'];
    if (labels['dev.realstack.known-port'] === 'true' && portVar) spec.knownPortVar = portVar[1];
    const root = labels['dev.realstack.source-root'];
    if (root) {
      const [container, host] = root.split('=');
      if (!container || !host)
        throw new ComposeFileError(
          `${where}: label dev.realstack.source-root must read CONTAINER_PATH=REPO_PATH`,
        );
      spec.sourceRoot = { container, host: path.resolve(projectDir, host) };
    }
    services.push(spec);
  }
  const volumes = isMap(merged.volumes) ? Object.keys(merged.volumes) : [];
  return { files: abs, projectDir, services, volumes };
}
