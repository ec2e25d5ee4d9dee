import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { UserError } from '../errors.js';

/**
 * realstack.json: what realstack needs to know of a stack beyond its compose file. Every key
 * is optional; what is left out is inferred from the compose file (src/stack/infer.ts), and
 * `npx realstack config --explain` shows the outcome. Compose labels (dev.realstack.*) say
 * the same things, for those who prefer them there; this file wins over a label.
 */
export interface ProjectConfig {
  /** The file it was read from, or undefined when there is none. */
  file: string | undefined;
  compose: { files?: string[]; profiles?: string[] };
  services: Record<string, ServiceConfig>;
  /** Variables the stack needs a secret in (name: what it is for), generated once when unset. */
  secrets: Record<string, string>;
  images: ImagesConfig;
  coverage: CoverageConfig;
  diagnose: { checks: DiagnoseCheck[] };
  impact: ImpactConfig;
  flaky: FlakyConfig;
  perf: PerfConfig;
  gates: GatesConfig;
  chaos: ChaosConfig;
  /**
   * Variables the tests get, as the tests already name them: `"API_URL": "{api}"`. A value is
   * text with placeholders for a service's URL in the run: `{api}`, `{api.host}`, `{api.port}`.
   */
  testEnv: Record<string, string>;
  /**
   * A compose service that runs the tests in a container (`tests`, `npm test`, profile `test`):
   * the tests get its environment, its addresses of the stack made this run's, under testEnv.
   */
  testEnvFrom?: string;
}

/** A request of the chaos data check: `${marker}` in the body or path becomes the check's own value. */
export interface ChaosRequest {
  method: string;
  path: string;
  body?: unknown;
  auth: boolean;
}

/** `realstack chaos` (docs/chaos.md): where the faults go and what the steady state is. */
export interface ChaosConfig {
  /** The service the faults are aimed at; default: the first Node service with an HTTP port. */
  service?: string;
  /** Its database (a postgres service it depends on); default: the one it depends on. */
  database?: string;
  /** The steady-state load: a perf profile's name; default: GET the service's health path. */
  load?: string;
  /** Requests of the default steady-state load. */
  requests: number;
  /** The share of failed requests the steady state allows, in percent. */
  maxErrorRate: number;
  /** After recovery, p95 may be this many times the steady state's (plus 50 ms). */
  latencyFactor: number;
  /** How long each fault lasts, in ms. */
  faultMs: number;
  /** The latency db-latency adds each way, in ms. */
  latencyMs: number;
  /** How long the stack may take to be healthy again, in ms. */
  recoverMs: number;
  /** Committed data written through the service before each fault and read back after it. */
  data?: { write: ChaosRequest; read: ChaosRequest };
}

/** `realstack gates`: what the security suite is, and the flakiness budget (docs/gates.md). */
export interface GatesConfig {
  /** The test files of the security suite (globs): the authentication and isolation tests. */
  security: string[];
  /** At most this share of recent test runs may be flaky, in percent. */
  flakiness: number;
}

/** One load profile of `realstack perf`: always bounded, always against a service of the stack. */
export interface PerfProfile {
  service: string;
  method: string;
  path: string;
  headers: Record<string, string>;
  /** Sent as JSON. */
  body?: unknown;
  /** Send perf.token's bearer token. */
  auth: boolean;
  connections: number;
  /** A number of requests, or else a duration in seconds. */
  requests?: number;
  seconds?: number;
}

/** Load profiles, baselines and the regression gate (docs/gates.md). Thresholds are percentages. */
export interface PerfConfig {
  profiles: Record<string, PerfProfile>;
  /** A command that prints a bearer token for the profiles with "auth": true (the stack's URLs in its environment). */
  token?: string[];
  rounds: number;
  baselines: string;
  thresholds: { p50: number; p95: number; p99: number; throughput: number };
}

/** Retries, the test history and quarantine (docs/gates.md). Rates are percentages of runs. */
export interface FlakyConfig {
  /** Each failing test file runs again up to this many times, on the same stack once it is healthy. */
  retries: number;
  /** A flaky test (failed, then passed) fails the run too. */
  failOnFlaky: boolean;
  /** A test that failed in more than this share of its recent runs is reported flaky. */
  flakyRate: number;
  /** More than this share, with a pass among them too: quarantined (its failures fail no run). */
  quarantineRate: number;
  /** "Recent": a test's last this many runs. */
  window: number;
  /** No verdict on a test with fewer runs than this. */
  minRuns: number;
  /** `fix-quarantined` releases a test after it passes this many times in a row. */
  releaseAfter: number;
}

/** Test impact selection (docs/impact.md). */
export interface ImpactConfig {
  /** Files no test depends on (docs, say): a change to them selects nothing. Globs, project-relative. */
  ignore: string[];
  /** A map recorded more commits back than this is stale: everything runs until it is recorded again. */
  maxCommits: number;
}

/** How the process engine runs a service: Node, or PostgreSQL and Redis from binaries here; `other` it cannot. */
export const ROLES = ['postgres', 'node', 'redis', 'other'] as const;
export type Role = (typeof ROLES)[number];

export interface ServiceConfig {
  role?: Role;
  /** "CONTAINER_PATH=HOST_PATH": where the service's files are in its container and here. */
  sourceRoot?: string;
  /** The scripts (relative to the source root) that are the service: the spy instruments only them. */
  entry?: string[];
  /** The HTTP path that answers 2xx once the service is ready. */
  healthPath?: string;
  /** The service must know its own public URL: its first host port is chosen before it starts. */
  knownPort?: boolean;
  /** Keep fixed host ports as the compose file writes them, instead of ephemeral ones on 127.0.0.1. */
  pinPorts?: boolean;
  /** Instrument it with the coverage spy (default: every Node service). */
  coverage?: boolean;
  /** The service speaks realstack's test-data protocol (docs/testing.md) at this path, behind this token. */
  testData?: { path: string; tokenVariable: string };
  /** Rows of a PostgreSQL service that are test data: values of `column` that start with the test prefix. */
  sqlCleanup?: SqlCleanup[];
  /** A package folder whose production node_modules are staged into build/<service>/ for its Dockerfile. */
  hostModules?: string;
  /** How the process engine runs it, when neither the compose file nor its Dockerfile says. */
  command?: string[];
}

export interface SqlCleanup {
  table: string;
  column: string;
  /** The database, when not the service's POSTGRES_DB. */
  database?: string;
}

export interface ImagesConfig {
  /** Image names the machine cannot pull, to what to run instead: an image, or "stand-in". */
  map: Record<string, string>;
  /** A host command that builds what the images (and the process engine) run, when its inputs change. */
  /** `engines`: the engines that need it (both, unless said): images that build themselves do not. */
  hostBuild?: { command: string[]; inputs: string[]; engines?: ('process' | 'docker')[] };
  /**
   * Where a Dockerfile's `RUN npm ci` gets its packages: "auto" from the registry when builds
   * reach it, else from this machine's install; "always" from this machine; "never" as written.
   */
  hostInstalls?: 'auto' | 'always' | 'never';
}

export const METRICS = ['lines', 'branches', 'functions', 'statements'] as const;
export type Metric = (typeof METRICS)[number];
export type Thresholds = Partial<Record<Metric, number>>;

export interface CoverageConfig {
  /** Over all services together. */
  global: Thresholds;
  /** Per file, for files matching the glob (project-relative), e.g. 100% for token code. */
  files: Record<string, Thresholds>;
  /** Services or instances whose missing dumps do not fail the run ("api", "api-2"). */
  allowMissing: string[];
  /** The spy's fallback: a service not stopped by itself after this long exits anyway. */
  flushMs: number;
  /** Over the lines a change touched (`realstack coverage diff`). */
  diff: Thresholds;
}

export interface DiagnoseCheck {
  name: string;
  /** Run by `diagnose` with the stack's URLs in the environment; exit 0 is ok. */
  command: string[];
}

type Json = Record<string, unknown>;

/** Reads one value of the file, naming where it is when it is wrong. */
class Reader {
  constructor(
    readonly file: string,
    readonly at: string,
    readonly value: unknown,
  ) {}

  fail(want: string): never {
    throw new UserError(`${this.file}: ${this.at} ${want}.`);
  }

  child(key: string): Reader {
    const value = this.value === undefined ? undefined : (this.object() as Json)[key];
    return new Reader(this.file, this.at ? `${this.at}.${key}` : key, value);
  }

  object(keys?: readonly string[]): Json {
    if (this.value === undefined) return {};
    if (typeof this.value !== 'object' || this.value === null || Array.isArray(this.value))
      this.fail('must be an object');
    const obj = this.value as Json;
    if (keys) {
      const unknown = Object.keys(obj).filter((k) => !keys.includes(k) && !k.startsWith('$'));
      if (unknown.length > 0)
        this.fail(
          `has ${unknown.map((k) => `"${k}"`).join(', ')}, which realstack does not know; the keys are ${keys.join(', ')}`,
        );
    }
    return obj;
  }

  /** The elements of a list, each named by its place (`diagnose.checks[0]`). */
  items(example: string): Reader[] {
    if (this.value === undefined) return [];
    if (!Array.isArray(this.value)) this.fail(`must be a list like ${example}`);
    return (this.value as unknown[]).map((v, i) => new Reader(this.file, `${this.at}[${i}]`, v));
  }

  entries(): [string, Reader][] {
    return Object.keys(this.object()).map((k) => [k, this.child(k)]);
  }

  string(): string | undefined {
    if (this.value === undefined) return undefined;
    if (typeof this.value !== 'string' || this.value === '') this.fail('must be a non-empty string');
    return this.value;
  }

  /** A string that must be there. */
  required(example: string): string {
    if (this.value === undefined) this.fail(`is missing; write e.g. ${example}`);
    return this.string() as string;
  }

  boolean(): boolean | undefined {
    if (this.value === undefined) return undefined;
    if (typeof this.value !== 'boolean') this.fail('must be true or false');
    return this.value;
  }

  number(min: number, max: number, what: string): number | undefined {
    if (this.value === undefined) return undefined;
    if (typeof this.value !== 'number' || this.value < min || this.value > max) this.fail(`must be ${what}`);
    return this.value;
  }

  strings(example: string): string[] | undefined {
    if (this.value === undefined) return undefined;
    if (!Array.isArray(this.value) || !this.value.every((s) => typeof s === 'string' && s !== ''))
      this.fail(`must be a list of strings, e.g. ${example}`);
    return this.value as string[];
  }

  /** A command as a list, or one string split on spaces. */
  command(example: string): string[] | undefined {
    if (typeof this.value === 'string') return this.value.split(/\s+/).filter(Boolean);
    return this.strings(example);
  }
}

const SERVICE_KEYS = [
  'role',
  'sourceRoot',
  'entry',
  'healthPath',
  'knownPort',
  'pinPorts',
  'coverage',
  'testData',
  'sqlCleanup',
  'hostModules',
  'command',
] as const;

function serviceConfig(r: Reader): ServiceConfig {
  r.object(SERVICE_KEYS);
  const out: ServiceConfig = {};
  const role = r.child('role').string();
  if (role !== undefined) {
    if (!(ROLES as readonly string[]).includes(role))
      r.child('role').fail(`must be one of ${ROLES.map((x) => `"${x}"`).join(', ')}`);
    out.role = role as ServiceConfig['role'];
  }
  const sourceRoot = r.child('sourceRoot').string();
  if (sourceRoot !== undefined) {
    if (!/^\/[^=]*=[^=]+$/.test(sourceRoot))
      r.child('sourceRoot').fail('must read CONTAINER_PATH=HOST_PATH, e.g. "/app=."');
    out.sourceRoot = sourceRoot;
  }
  const entry = r.child('entry').strings('["dist/server.js"]');
  if (entry) out.entry = entry;
  const health = r.child('healthPath').string();
  if (health !== undefined) {
    if (!health.startsWith('/'))
      r.child('healthPath').fail('must be a path starting with "/", e.g. "/health"');
    out.healthPath = health;
  }
  for (const key of ['knownPort', 'pinPorts', 'coverage'] as const) {
    const value = r.child(key).boolean();
    if (value !== undefined) out[key] = value;
  }
  const testData = r.child('testData');
  if (testData.value !== undefined) {
    testData.object(['path', 'tokenVariable']);
    out.testData = {
      path: testData.child('path').required('"/admin/test-data"'),
      tokenVariable: testData.child('tokenVariable').required('"ADMIN_TOKEN"'),
    };
  }
  const sql = r.child('sqlCleanup');
  if (sql.value !== undefined) {
    out.sqlCleanup = sql.items('[{"table": "users", "column": "email"}]').map((item) => {
      item.object(['table', 'column', 'database']);
      const table = item.child('table').required('"users"');
      const column = item.child('column').required('"email"');
      const ident = /^[A-Za-z_][A-Za-z0-9_$]*(\.[A-Za-z_][A-Za-z0-9_$]*)?$/;
      if (!ident.test(table)) item.child('table').fail('must be a table name, optionally schema-qualified');
      if (!ident.test(column) || column.includes('.')) item.child('column').fail('must be a column name');
      const database = item.child('database').string();
      return { table, column, ...(database ? { database } : {}) };
    });
  }
  const hostModules = r.child('hostModules').string();
  if (hostModules !== undefined) out.hostModules = hostModules;
  const command = r.child('command').command('["node", "dist/server.js"]');
  if (command) out.command = command;
  return out;
}

function thresholds(r: Reader): Thresholds {
  const out: Thresholds = {};
  for (const [k, v] of r.entries()) {
    if (!METRICS.includes(k as Metric))
      r.fail(`has "${k}", which is not a metric; use ${METRICS.join(', ')}`);
    out[k as Metric] = v.number(0, 100, 'a percentage from 0 to 100') as number;
  }
  return out;
}

export function coverageConfig(r: Reader): CoverageConfig {
  r.object(['global', 'files', 'allowMissing', 'flushMs', 'diff']);
  return {
    global: thresholds(r.child('global')),
    files: Object.fromEntries(
      r
        .child('files')
        .entries()
        .map(([glob, t]) => [glob, thresholds(t)]),
    ),
    allowMissing: r.child('allowMissing').strings('["worker"]') ?? [],
    flushMs: r.child('flushMs').number(100, 600_000, 'a number of milliseconds from 100 to 600000') ?? 20_000,
    diff: thresholds(r.child('diff')),
  };
}

/** The docs and such that no test runs, by default: a change to them selects no test. */
export const IMPACT_IGNORE = [
  '**/*.md',
  'docs/**',
  'LICENSE*',
  '.gitignore',
  '.github/**',
  '**/*.{png,jpg,svg}',
];

function impactConfig(r: Reader): ImpactConfig {
  r.object(['ignore', 'maxCommits']);
  return {
    ignore: r.child('ignore').strings('["**/*.md", "docs/**"]') ?? IMPACT_IGNORE,
    maxCommits: r.child('maxCommits').number(1, 100_000, 'a whole number of commits') ?? 50,
  };
}

export const FLAKY_DEFAULTS: FlakyConfig = {
  retries: 0,
  failOnFlaky: false,
  flakyRate: 10,
  quarantineRate: 20,
  window: 20,
  minRuns: 5,
  releaseAfter: 5,
};

function flakyConfig(r: Reader): FlakyConfig {
  r.object(Object.keys(FLAKY_DEFAULTS));
  const d = FLAKY_DEFAULTS;
  const percent = (key: 'flakyRate' | 'quarantineRate') =>
    r.child(key).number(0, 100, 'a percentage from 0 to 100') ?? d[key];
  const whole = (key: 'retries' | 'window' | 'minRuns' | 'releaseAfter', min: number, max: number) => {
    const n = r.child(key).number(min, max, `a whole number from ${min} to ${max}`) ?? d[key];
    if (!Number.isInteger(n)) r.child(key).fail(`must be a whole number from ${min} to ${max}`);
    return n;
  };
  return {
    retries: whole('retries', 0, 10),
    failOnFlaky: r.child('failOnFlaky').boolean() ?? d.failOnFlaky,
    flakyRate: percent('flakyRate'),
    quarantineRate: percent('quarantineRate'),
    window: whole('window', 1, 1000),
    minRuns: whole('minRuns', 1, 1000),
    releaseAfter: whole('releaseAfter', 1, 100),
  };
}

export const PERF_DEFAULTS: PerfConfig = {
  profiles: {},
  rounds: 3,
  baselines: 'perf/baselines',
  thresholds: { p50: 10, p95: 15, p99: 20, throughput: 5 },
};

const PROFILE_KEYS = [
  'service',
  'method',
  'path',
  'headers',
  'body',
  'auth',
  'connections',
  'requests',
  'seconds',
];

function perfProfile(r: Reader): PerfProfile {
  r.object(PROFILE_KEYS);
  const path = r.child('path').required('"/health"');
  if (!path.startsWith('/')) r.child('path').fail('must be a path on the service, starting with "/"');
  const method = (r.child('method').string() ?? 'GET').toUpperCase();
  if (!['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD'].includes(method))
    r.child('method').fail('must be GET, POST, PUT, PATCH, DELETE or HEAD');
  const headers = Object.fromEntries(
    r
      .child('headers')
      .entries()
      .map(([k, v]) => [k.toLowerCase(), v.string() as string]),
  );
  const requests = r.child('requests').number(1, 100_000, 'a number of requests from 1 to 100000');
  const seconds = r.child('seconds').number(1, 60, 'a number of seconds from 1 to 60');
  if (requests !== undefined && seconds !== undefined)
    r.fail('gives both "requests" and "seconds": a profile is bounded by one of them');
  const connections = r.child('connections').number(1, 64, 'a number of connections from 1 to 64') ?? 4;
  for (const [key, n] of [
    ['requests', requests],
    ['connections', connections],
  ] as const)
    if (n !== undefined && !Number.isInteger(n)) r.child(key).fail('must be a whole number');
  return {
    service: r.child('service').required('"api"'),
    method,
    path,
    headers,
    ...(r.child('body').value !== undefined ? { body: r.child('body').value } : {}),
    auth: r.child('auth').boolean() ?? false,
    connections,
    ...(requests !== undefined ? { requests } : { seconds: seconds ?? 5 }),
  };
}

function perfConfig(r: Reader): PerfConfig {
  r.object(['profiles', 'token', 'rounds', 'baselines', 'thresholds']);
  const t = r.child('thresholds');
  t.object(['p50', 'p95', 'p99', 'throughput']);
  const d = PERF_DEFAULTS.thresholds;
  const pct = (key: keyof typeof d) => t.child(key).number(0, 1000, 'a percentage from 0 to 1000') ?? d[key];
  const profiles = Object.fromEntries(
    r
      .child('profiles')
      .entries()
      .map(([name, p]) => {
        if (!/^[\w.-]+$/.test(name)) p.fail('is not a profile name: use letters, digits, ".", "_" and "-"');
        return [name, perfProfile(p)];
      }),
  );
  const token = r.child('token').command('"node scripts/perf-token.js"');
  const rounds =
    r.child('rounds').number(1, 50, 'a whole number of rounds from 1 to 50') ?? PERF_DEFAULTS.rounds;
  if (!Number.isInteger(rounds)) r.child('rounds').fail('must be a whole number of rounds from 1 to 50');
  if (Object.values(profiles).some((p) => p.auth) && !token)
    r.child('token').fail(
      'is missing: a profile has "auth": true; give a command that prints a bearer token',
    );
  return {
    profiles,
    ...(token ? { token } : {}),
    rounds,
    baselines: r.child('baselines').string() ?? PERF_DEFAULTS.baselines,
    thresholds: { p50: pct('p50'), p95: pct('p95'), p99: pct('p99'), throughput: pct('throughput') },
  };
}

function gatesConfig(r: Reader): GatesConfig {
  r.object(['security', 'flakiness']);
  return {
    security: r.child('security').strings('["test/auth*.test.js"]') ?? [],
    flakiness: r.child('flakiness').number(0, 100, 'a percentage from 0 to 100') ?? 5,
  };
}

export const CHAOS_DEFAULTS: ChaosConfig = {
  requests: 200,
  maxErrorRate: 0,
  latencyFactor: 3,
  faultMs: 3000,
  latencyMs: 200,
  recoverMs: 60_000,
};

function chaosRequest(r: Reader, example: string): ChaosRequest {
  r.object(['method', 'path', 'body', 'auth']);
  const path = r.child('path').required(example);
  if (!path.startsWith('/')) r.child('path').fail('must be a path on the service, starting with "/"');
  return {
    method: (r.child('method').string() ?? 'GET').toUpperCase(),
    path,
    ...(r.child('body').value !== undefined ? { body: r.child('body').value } : {}),
    auth: r.child('auth').boolean() ?? false,
  };
}

function chaosConfig(r: Reader): ChaosConfig {
  r.object([
    'service',
    'database',
    'load',
    'requests',
    'maxErrorRate',
    'latencyFactor',
    'faultMs',
    'latencyMs',
    'recoverMs',
    'data',
  ]);
  const d = CHAOS_DEFAULTS;
  const n = (
    key: 'requests' | 'maxErrorRate' | 'latencyFactor' | 'faultMs' | 'latencyMs' | 'recoverMs',
    min: number,
    max: number,
    what: string,
  ) => r.child(key).number(min, max, what) ?? d[key];
  const out: ChaosConfig = {
    requests: n('requests', 1, 10_000, 'a number of requests from 1 to 10000'),
    maxErrorRate: n('maxErrorRate', 0, 100, 'a percentage from 0 to 100'),
    latencyFactor: n('latencyFactor', 1, 100, 'a factor from 1 to 100'),
    faultMs: n('faultMs', 500, 60_000, 'a number of milliseconds from 500 to 60000'),
    latencyMs: n('latencyMs', 1, 10_000, 'a number of milliseconds from 1 to 10000'),
    recoverMs: n('recoverMs', 1000, 600_000, 'a number of milliseconds from 1000 to 600000'),
  };
  for (const key of ['service', 'database', 'load'] as const) {
    const v = r.child(key).string();
    if (v !== undefined) out[key] = v;
  }
  const data = r.child('data');
  if (data.value !== undefined) {
    data.object(['write', 'read']);
    out.data = {
      write: chaosRequest(data.child('write'), '"/notes"'),
      read: chaosRequest(data.child('read'), '"/notes/:id"'),
    };
    if (!out.data.read.path.includes(':id'))
      data.child('read').child('path').fail('must hold ":id", where the written record\'s id goes');
  }
  return out;
}

const VARIABLE = /^[A-Za-z_][A-Za-z0-9_]*$/;

function testEnvConfig(r: Reader): Record<string, string> {
  return Object.fromEntries(
    r.entries().map(([name, v]) => {
      if (!VARIABLE.test(name)) v.fail('is not a variable name (letters, digits and _)');
      const value = v.string() as string;
      const bad = placeholders(value).find((p) => !p.service);
      if (bad)
        v.fail(
          `has {${bad.text}}, which names no service: write {api} for its URL, {api.host} or {api.port}`,
        );
      return [name, value];
    }),
  );
}

/** The `{service}`, `{service.host}` and `{service.port}` of a testEnv value, in order. */
export function placeholders(
  value: string,
): { text: string; service?: string; part: 'url' | 'host' | 'port' }[] {
  return [...value.matchAll(/\{([^{}]*)\}/g)].map((m) => {
    const text = m[1] as string;
    const found = /^([A-Za-z0-9][\w.-]*?)(?:\.(url|host|port))?$/.exec(text);
    return found
      ? { text, service: found[1] as string, part: (found[2] ?? 'url') as 'url' | 'host' | 'port' }
      : { text, part: 'url' };
  });
}

function readJsonFile(file: string): unknown {
  try {
    return JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new UserError(
      `${file} is not valid JSON: ${(err as Error).message}. Fix it, or remove it to use the defaults.`,
    );
  }
}

export const CONFIG_FILE = 'realstack.json';

export const emptyProjectConfig = (): ProjectConfig => ({
  file: undefined,
  compose: {},
  services: {},
  secrets: {},
  images: { map: {} },
  coverage: { global: {}, files: {}, allowMissing: [], flushMs: 20_000, diff: {} },
  diagnose: { checks: [] },
  impact: { ignore: IMPACT_IGNORE, maxCommits: 50 },
  flaky: FLAKY_DEFAULTS,
  perf: PERF_DEFAULTS,
  gates: { security: [], flakiness: 5 },
  chaos: CHAOS_DEFAULTS,
  testEnv: {},
});

/** Reads and validates realstack.json once; absent means everything is inferred. */
export function loadProjectConfig(file: string): ProjectConfig {
  if (!existsSync(file)) return emptyProjectConfig();
  const name = path.basename(file);
  const r = new Reader(name, '', readJsonFile(file));
  r.object([
    'compose',
    'services',
    'secrets',
    'images',
    'coverage',
    'diagnose',
    'impact',
    'flaky',
    'perf',
    'gates',
    'chaos',
    'testEnv',
    'testEnvFrom',
  ]);
  const compose = r.child('compose');
  compose.object(['files', 'profiles']);
  const files = compose.child('files').strings('["docker-compose.yml"]');
  const profiles = compose.child('profiles').strings('["dev"]');
  const images = r.child('images');
  images.object(['map', 'hostBuild', 'hostInstalls']);
  const map = Object.fromEntries(
    images
      .child('map')
      .entries()
      .map(([from, to]) => [from, to.string() as string]),
  );
  let hostBuild: ImagesConfig['hostBuild'];
  const hb = images.child('hostBuild');
  if (hb.value !== undefined) {
    hb.object(['command', 'inputs', 'engines']);
    const command = hb.child('command').command('"npm run build"');
    if (!command?.length) hb.fail('needs a "command", e.g. "npm run build"');
    const engines = hb.child('engines').strings('["process"]');
    if (engines?.some((e) => e !== 'process' && e !== 'docker'))
      hb.child('engines').fail('names engines a build runs for: "process", "docker" or both');
    hostBuild = {
      command: command as string[],
      inputs: hb.child('inputs').strings('["src", "package-lock.json"]') ?? [],
      ...(engines ? { engines: engines as ('process' | 'docker')[] } : {}),
    };
  }
  const hostInstalls = images.child('hostInstalls').string();
  if (hostInstalls !== undefined && !['auto', 'always', 'never'].includes(hostInstalls))
    images.child('hostInstalls').fail('must be "auto", "always" or "never"');
  const testEnvFrom = r.child('testEnvFrom').string();
  const diagnose = r.child('diagnose');
  diagnose.object(['checks']);
  const checks = diagnose
    .child('checks')
    .items('[{"name": "login works", "command": "node scripts/check-login.js"}]');
  return {
    file,
    compose: { ...(files ? { files } : {}), ...(profiles ? { profiles } : {}) },
    services: Object.fromEntries(
      r
        .child('services')
        .entries()
        .map(([svc, s]) => [svc, serviceConfig(s)]),
    ),
    secrets: Object.fromEntries(
      r
        .child('secrets')
        .entries()
        .map(([k, v]) => {
          if (!VARIABLE.test(k)) v.fail('is not a variable name');
          return [k, v.string() as string];
        }),
    ),
    images: {
      map,
      ...(hostBuild ? { hostBuild } : {}),
      ...(hostInstalls ? { hostInstalls: hostInstalls as ImagesConfig['hostInstalls'] } : {}),
    },
    coverage: coverageConfig(r.child('coverage')),
    impact: impactConfig(r.child('impact')),
    flaky: flakyConfig(r.child('flaky')),
    perf: perfConfig(r.child('perf')),
    gates: gatesConfig(r.child('gates')),
    chaos: chaosConfig(r.child('chaos')),
    testEnv: testEnvConfig(r.child('testEnv')),
    ...(testEnvFrom ? { testEnvFrom } : {}),
    diagnose: {
      checks: checks.map((c) => {
        c.object(['name', 'command']);
        const name = c.child('name').required('"login works"');
        const command = c.child('command').command('"node scripts/check.js"');
        if (!command?.length) c.child('command').fail('is missing; write e.g. "node scripts/check.js"');
        return { name, command: command as string[] };
      }),
    },
  };
}

/** Gates from a file of their own (REALSTACK_COVERAGE_CONFIG): the shape of the coverage section. */
export function loadCoverageFile(file: string): CoverageConfig {
  const empty = emptyProjectConfig().coverage;
  if (!existsSync(file)) return empty;
  return coverageConfig(new Reader(path.basename(file), '', readJsonFile(file)));
}
