import { cpSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { PassThrough, type Writable } from 'node:stream';
import type Docker from 'dockerode';
import { UserError } from '../errors.js';
import { probeService, unhealthyAnswer } from '../stack/probe.js';
import type { ServiceSpec, StackSpec } from '../stack/spec.js';
import type { RunState, StateStore } from '../stack/state.js';
import { type Ran, runCommand } from '../util/run-command.js';
import { dockerGet, dockerList, inspectContainer, inspectImage, startContainer } from './docker-api.js';
import { HealthNow } from './health-now.js';
import { writeInlineFiles } from './inline-files.js';
import { pid1IsNode, severalNodes, signalNodes } from './node-signals.js';
import type { RunFileOptions } from './run-file.js';
import { serviceUrl } from './service-url.js';
import { startInOrder } from './start-order.js';
import { stopInOrder } from './stop-order.js';
import type { CopiedCoverage, Engine, Health, Instance, LogOptions, StopResult, UpOptions } from './types.js';

export const RUN_LABEL = 'dev.realstack.run';
export const STARTED_LABEL = 'dev.realstack.started';
/** The run's state file: the reaper asks it whether the run is still alive. */
export const STATE_LABEL = 'dev.realstack.state';
const PROJECT_LABEL = 'com.docker.compose.project';
const SERVICE_LABEL = 'com.docker.compose.service';
const NUMBER_LABEL = 'com.docker.compose.container-number';

/** One endpoint, resolved once, for compose, dockerode and docker-api.ts. */
export interface DockerEndpoint {
  host: string;
  /** Where a request goes: the daemon's socket, or its host and port. */
  target: { socketPath: string } | { host: string; port: number };
  /**
   * dockerode's client, made on first use: loading dockerode (ssh2 and grpc under it) takes
   * 0.17 s, which a process-engine run need not pay (docker-api.ts does the looking).
   */
  readonly docker: Docker;
}

export function dockerEndpoint(env: NodeJS.ProcessEnv): DockerEndpoint {
  const host = env.DOCKER_HOST || 'unix:///var/run/docker.sock';
  const url = host.startsWith('unix://') ? undefined : new URL(host.replace(/^tcp:/, 'http:'));
  const target = url
    ? { host: url.hostname, port: Number(url.port || 2375) }
    : { socketPath: host.slice('unix://'.length) };
  let client: Docker | undefined;
  return {
    host,
    target,
    get docker() {
      client ??= new (createRequire(import.meta.url)('dockerode') as typeof Docker)(target);
      return client;
    },
  };
}

export async function daemonAnswers(endpoint: DockerEndpoint, timeoutMs = 2000): Promise<boolean> {
  // No socket, no daemon: known without asking.
  if (endpoint.host.startsWith('unix://') && !existsSync(endpoint.host.slice('unix://'.length))) return false;
  return dockerGet(endpoint, '/_ping', timeoutMs).then(
    () => true,
    () => false,
  );
}

/**
 * Without a TTY docker frames stdout and stderr into one stream: an 8-byte header
 * (stream type, 3 zero bytes, big-endian length) before each chunk. With `tty: true` the
 * container has one stream, unframed.
 */
export function demux(buf: Buffer, tty = false): string {
  if (tty) return buf.toString('utf8');
  let text = '';
  for (let at = 0; at + 8 <= buf.length; ) {
    const size = buf.readUInt32BE(at + 4);
    text += buf.toString('utf8', at + 8, at + 8 + size);
    at += 8 + size;
  }
  return text;
}

/** Known failures of compose or the daemon, turned into what to do about them. */
function explainDockerFailure(stderr: string): string | undefined {
  const port =
    /(?:Bind for |listen tcp4? )([\d.]+:\d+)(?: failed: port is already allocated|: bind: address already in use)/.exec(
      stderr,
    );
  if (port) {
    return `host port ${port[1]} is already taken by another program. Stop it, or change or unset the *_PORT variable that asks for that port so the stack gets a free one.`;
  }
  if (
    /pull access denied|not found: manifest unknown|failed to resolve reference|Temporary failure in name resolution|dial tcp: lookup/.test(
      stderr,
    )
  ) {
    return 'an image could not be pulled. Run `npx realstack images`, which builds local stand-ins for the official node, postgres, redis, nginx, mariadb and mysql images, or map the image in realstack.json (images.map).';
  }
  return undefined;
}

/** A failed compose call, said with what to do when its output names a known cause. */
function composeFailed(what: string, runId: string, result: { all?: unknown }): UserError {
  const output = String(result.all ?? '');
  const why = explainDockerFailure(output);
  return new UserError(
    `docker compose ${what} failed for run ${runId}${why ? `: ${why}` : '.'}\n${output.split('\n').slice(-15).join('\n')}`,
  );
}

/** A container's NODE_V8_COVERAGE directory: where its spy writes, if it has one. */
const coverageDirOf = (info: Docker.ContainerInspectInfo): string | undefined =>
  info.Config.Env?.find((e) => e.startsWith('NODE_V8_COVERAGE='))?.slice('NODE_V8_COVERAGE='.length);

/**
 * The compose CLI creates the run from the user's file as compose reads it; through dockerode,
 * realstack starts it in depends_on order, inspects it (health, exit codes, logs, ports) and
 * removes it. Every resource carries the run's label; `down` checks by label that none is left.
 */
export class DockerEngine implements Engine {
  readonly name = 'docker' as const;
  readonly startsCurrentBuild = false;

  constructor(
    readonly stack: StackSpec,
    readonly run: RunState,
    private readonly store: StateStore,
    private readonly env: NodeJS.ProcessEnv,
    private readonly endpoint: DockerEndpoint,
    /** The images and build arguments the last build left (images/state.ts): read again once the run's build is done. */
    private readonly images: () => Omit<RunFileOptions, 'labels'> = () => ({ images: {}, buildArgs: {} }),
  ) {
    this.healthNow = new HealthNow(endpoint);
  }

  private get docker(): Docker {
    return this.endpoint.docker;
  }

  private readonly healthNow: HealthNow;

  /** The run's own compose file (run-file.ts), written when the run starts. */
  private get file(): string {
    return path.join(this.store.dir(this.run.runId), 'compose.json');
  }

  private async writeRunFile(
    images: Omit<RunFileOptions, 'labels'>,
    log?: (line: string) => void,
  ): Promise<void> {
    // With compose's model (yaml) it loads only for `up`: `ps` and `down` read the daemon.
    const [{ runFile }, { findComposeCli }, { readableBy }] = await Promise.all([
      import('./run-file.js'),
      import('./compose-cli.js'),
      import('./compose-v1.js'),
    ]);
    const labels = {
      [RUN_LABEL]: this.run.runId,
      [STARTED_LABEL]: this.run.startedAt,
      [STATE_LABEL]: this.store.file(this.run.runId),
    };
    // It holds the services' environment, secrets included: readable by this user only.
    const file = readableBy(
      await findComposeCli(this.env),
      runFile(this.stack, {
        labels,
        ...images,
        inlineFiles: writeInlineFiles(this.stack, path.join(this.store.dir(this.run.runId), 'files')),
      }),
      log,
    );
    writeFileSync(this.file, JSON.stringify(file, null, 2), { mode: 0o600 });
  }

  /** Compose on the run's file. */
  private async compose(args: string[]): Promise<Ran> {
    // Only `up` and `addInstance` run compose: `ps`, `logs` and `down` do not look for it.
    const { findComposeCli } = await import('./compose-cli.js');
    const cli = await findComposeCli(this.env);
    return runCommand(
      cli.command,
      [
        ...cli.prefix,
        '-p',
        this.run.project,
        '--project-directory',
        this.stack.projectDir,
        '-f',
        this.file,
        ...args,
      ],
      { ...this.env, ...cli.env, DOCKER_HOST: this.endpoint.host },
    );
  }

  /**
   * Compose creates the run (networks, volumes, containers, from the user's file as compose
   * reads it); realstack starts each service once what it depends on is ready. Compose v1's
   * `up` waits for a healthy dependency at Docker's check interval, and creates dependants only
   * then; realstack sees health as soon as the service's own check passes (health-now.ts).
   */
  async up(options: UpOptions): Promise<void> {
    // Compose takes 0.7 s to create the containers, most of it its own start: it creates them
    // from the images the last build left while this run's build is checked, and again where
    // the build changed one. Nothing starts before the build is done.
    const images = this.images();
    // Both end before anything else looks at the run: a `down` after a failed build too.
    const [early, build] = await Promise.allSettled([this.create(images, options), options.built]);
    if (build.status === 'rejected') throw build.reason;
    if (early.status === 'rejected') throw early.reason;
    // Where no image existed yet, compose's first try failed: it runs again, and says why if it fails then.
    let created = early.value.exitCode === 0 ? await this.containers() : [];
    if (!(await this.createdCurrent(images, created))) {
      await removeContainers(this.docker, `${RUN_LABEL}=${this.run.runId}`);
      // What the run file leaves out was said the first time.
      const again = await this.create(this.images(), { ...options, log: undefined });
      if (again.exitCode !== 0) throw composeFailed('up', this.run.runId, again);
      created = await this.containers();
    }
    await startInOrder(this.stack.services, Date.now() + (options.timeoutMs ?? 120_000), {
      instances: () => this.instances({ polling: true }),
      changed: () => this.changed(),
      tail: (instance, lines) => this.tail(instance, lines),
      start: async (svc) => {
        const mine = created.filter((c) => c.Labels[SERVICE_LABEL] === svc.name);
        await Promise.all(mine.map((c) => this.startContainer(c)));
      },
    });
  }

  /** Writes the run's compose file and has compose create what it names (`up --no-start`). */
  private async create(images: Omit<RunFileOptions, 'labels'>, options: UpOptions) {
    await this.writeRunFile(images, options.log);
    const scale = Object.entries(options.scale).flatMap(([svc, n]) => ['--scale', `${svc}=${n}`]);
    return this.compose(['up', '--no-start', '--no-build', ...scale]);
  }

  /**
   * Whether the containers made before the build (none where compose failed) are what it left:
   * the same images and build arguments chosen, and each container made from the image its name
   * has now (a build moves the tag to a new image).
   */
  private async createdCurrent(
    before: Omit<RunFileOptions, 'labels'>,
    created: Docker.ContainerInfo[],
  ): Promise<boolean> {
    const now = this.images();
    if (created.length === 0 || JSON.stringify(now) !== JSON.stringify(before)) return false;
    const imageOf = (c: Docker.ContainerInfo) => {
      const svc = this.stack.services.find((s) => s.name === c.Labels[SERVICE_LABEL]);
      return (svc && now.images[svc.name]) ?? svc?.image;
    };
    const names = [...new Set(created.map(imageOf))].filter((n) => n !== undefined);
    const ids = new Map(
      await Promise.all(names.map(async (n) => [n, (await inspectImage(this.endpoint, n))?.Id] as const)),
    );
    return created.every((c) => ids.get(imageOf(c) ?? '') === c.ImageID);
  }

  private async startContainer(c: Docker.ContainerInfo): Promise<void> {
    try {
      await startContainer(this.endpoint, c.Id);
    } catch (error) {
      const message = (error as Error).message;
      throw new UserError(
        `${DockerEngine.instanceName(c)} did not start: ${explainDockerFailure(message) ?? message}`,
      );
    }
  }

  private async containers(): Promise<Docker.ContainerInfo[]> {
    return dockerList(this.endpoint, '/containers/json?all=1', `${PROJECT_LABEL}=${this.run.project}`);
  }

  private static instanceName(c: Docker.ContainerInfo): string {
    return `${c.Labels[SERVICE_LABEL]}-${c.Labels[NUMBER_LABEL] ?? '1'}`;
  }

  changed(): Promise<void> {
    return this.healthNow.checkEnded();
  }

  async instances(options: { polling?: boolean } = {}): Promise<Instance[]> {
    const list = await this.containers();
    const out = await Promise.all(
      list.map(async (c): Promise<Instance> => {
        const info = await inspectContainer(this.endpoint, c.Id);
        const service = c.Labels[SERVICE_LABEL] as string;
        const spec = this.stack.services.find((s) => s.name === service);
        // Docker says Running as well while a container waits to restart: it is not.
        const running = info.State.Running && !info.State.Restarting;
        const paused = info.State.Paused;
        const binding = spec?.containerPort
          ? info.NetworkSettings.Ports?.[`${spec.containerPort}/tcp`]?.[0]
          : undefined;
        const url = binding && spec ? serviceUrl(spec, Number(binding.HostPort)) : undefined;
        // The service's own health check when it has one; realstack's rule otherwise.
        const health: Health =
          !running || paused
            ? 'none'
            : ((await this.healthNow.health(info, spec, url, options.polling)) ??
              (await probeService(spec, url)));
        const instance: Instance = {
          service,
          name: DockerEngine.instanceName(c),
          state: paused ? 'paused' : running ? 'running' : 'exited',
          health,
          startedAt: info.State.StartedAt,
        };
        if (!running) instance.exitCode = info.State.ExitCode;
        if (info.State.Restarting) instance.restarting = true;
        if (info.RestartCount > 0) instance.restarts = info.RestartCount;
        if (url) instance.url = url;
        const ownCheck = (info.Config.Healthcheck?.Test ?? ['NONE'])[0] !== 'NONE';
        const problem =
          running && health !== 'healthy'
            ? (this.healthNow.problem(info, spec) ??
              // No check of its own: realstack's probe of its health path is its readiness.
              (!ownCheck && health === 'unhealthy' && url && spec?.healthPath
                ? await unhealthyAnswer(url, spec.healthPath)
                : undefined))
            : undefined;
        if (problem) instance.problem = problem;
        return instance;
      }),
    );
    return out.sort((a, b) => a.name.localeCompare(b.name, 'en', { numeric: true }));
  }

  private async findContainer(instance: string): Promise<Docker.Container | undefined> {
    const c = (await this.containers()).find((x) => DockerEngine.instanceName(x) === instance);
    return c ? this.docker.getContainer(c.Id) : undefined;
  }

  async tail(instance: string, lines: number): Promise<string[]> {
    const container = await this.findContainer(instance);
    if (!container) return [];
    const tty = (await container.inspect()).Config.Tty;
    const raw = await container.logs({ stdout: true, stderr: true, tail: lines, follow: false });
    return demux(raw, tty).split('\n').filter(Boolean).slice(-lines);
  }

  async logs(service: string | undefined, options: LogOptions, out: Writable): Promise<void> {
    const list = (await this.containers()).filter((c) => !service || c.Labels[SERVICE_LABEL] === service);
    await Promise.all(
      list.map(async (c) => {
        const prefix = `${DockerEngine.instanceName(c)} | `;
        let partial = '';
        const write = (text: string) => {
          const lines = (partial + text).split('\n');
          partial = lines.pop() ?? '';
          for (const line of lines) out.write(`${prefix}${line}\n`);
        };
        const container = this.docker.getContainer(c.Id);
        const tty = (await container.inspect()).Config.Tty;
        const base = {
          stdout: true,
          stderr: true,
          timestamps: Boolean(options.timestamps),
          ...(options.tail !== undefined ? { tail: options.tail } : {}),
        };
        if (options.follow) {
          const stream = await container.logs({ ...base, follow: true });
          const sink = new PassThrough();
          sink.on('data', (d: Buffer) => write(d.toString('utf8')));
          if (tty) stream.pipe(sink);
          else this.docker.modem.demuxStream(stream, sink, sink);
          await new Promise<void>((resolve) => {
            stream.on('end', resolve);
            process.once('SIGINT', () => {
              (stream as unknown as { destroy(): void }).destroy();
              resolve();
            });
          });
        } else {
          write(demux(await container.logs({ ...base, follow: false }), tty));
        }
        if (partial) out.write(`${prefix}${partial}\n`);
      }),
    );
  }

  async stop(): Promise<StopResult[]> {
    const list = await this.containers();
    return stopInOrder(
      this.stack.services,
      list,
      (c) => c.Labels[SERVICE_LABEL] as string,
      (c) => this.stopOne(c),
    );
  }

  private async stopOne(c: Docker.ContainerInfo): Promise<StopResult> {
    const spec = this.stack.services.find((s) => s.name === c.Labels[SERVICE_LABEL]);
    const container = this.docker.getContainer(c.Id);
    const before = await container.inspect();
    // A frozen container cannot take its stop signal.
    if (before.State.Paused) await container.unpause().catch(() => {});
    if (before.State.Running) await this.stopGracefully(container, before, spec);
    const after = await container.inspect();
    return {
      instance: DockerEngine.instanceName(c),
      exitCode: after.State.ExitCode,
      // Docker kills with SIGKILL at the end of the grace period: exit 137 means it did.
      graceful: before.State.Running && after.State.ExitCode !== 137,
      ...(before.State.Running ? {} : { endedBefore: true }),
    };
  }

  /** Containers of the run whose environment sets NODE_V8_COVERAGE, with that directory. */
  private async instrumented(): Promise<
    {
      info: Docker.ContainerInfo;
      inspected: Docker.ContainerInspectInfo;
      dir: string;
      running: boolean;
      exitCode: number;
    }[]
  > {
    const out = [];
    for (const c of await this.containers()) {
      const inspected = await this.docker.getContainer(c.Id).inspect();
      const dir = coverageDirOf(inspected);
      if (dir)
        out.push({
          info: c,
          inspected,
          dir,
          running: inspected.State.Running,
          exitCode: inspected.State.ExitCode,
        });
    }
    return out;
  }

  /** Copies the files of `dir` in a container into `to`; getArchive reads stopped containers too. */
  private async copyDir(id: string, dir: string, to: string): Promise<void> {
    mkdirSync(to, { recursive: true });
    const archive = await this.docker
      .getContainer(id)
      .getArchive({ path: dir })
      .catch((err: { statusCode?: number }) => {
        if (err.statusCode === 404) return undefined;
        throw err;
      });
    if (archive) await extractFiles(archive, to);
  }

  /** Instances scaled away: their containers are gone, their dumps kept in the run's directory. */
  private get retired(): (CopiedCoverage & { exitCode: number })[] {
    const detail = this.run.detail as { retired?: (CopiedCoverage & { exitCode: number })[] };
    detail.retired ??= [];
    return detail.retired;
  }

  async copyCoverage(dest: string): Promise<CopiedCoverage[]> {
    const copied: CopiedCoverage[] = [];
    for (const { info, dir, running, exitCode } of await this.instrumented()) {
      const instance = DockerEngine.instanceName(info);
      const to = path.join(dest, instance);
      // The dumps are written at exit: a stopped container's are the ones that count.
      await this.copyDir(info.Id, dir, to);
      copied.push({
        service: info.Labels[SERVICE_LABEL] as string,
        instance,
        dir: to,
        ...(running ? {} : { exitCode }),
      });
    }
    // Compose may give a later replica a retired one's number: each copy keeps a name of its own.
    for (const [i, r] of this.retired.entries()) {
      const to = path.join(dest, `${r.instance}.retired-${i + 1}`);
      if (existsSync(r.dir)) cpSync(r.dir, to, { recursive: true });
      copied.push({ ...r, dir: to });
    }
    return copied;
  }

  async signal(signal: NodeJS.Signals): Promise<string[]> {
    const sent: string[] = [];
    for (const { info, inspected, running } of await this.instrumented()) {
      if (!running) continue;
      const container = this.docker.getContainer(info.Id);
      if (pid1IsNode(inspected) && !(await severalNodes(container))) await container.kill({ signal });
      else if (!(await signalNodes(this.docker, info.Id, signal))) continue;
      sent.push(DockerEngine.instanceName(info));
    }
    return sent;
  }

  /**
   * Docker's stop with the service's grace period; when PID 1 is not node (npm, a shell) or is
   * not the only one under the coverage spy (cluster workers), its node processes get the SIGTERM
   * first and the grace period to end with it (node-signals.ts), as the process engine signals a
   * service's group.
   */
  private async stopGracefully(
    container: Docker.Container,
    info: Docker.ContainerInspectInfo,
    spec: ServiceSpec | undefined,
  ): Promise<void> {
    const graceMs = (spec?.stopGraceSeconds ?? 10) * 1000;
    const started = Date.now();
    const policy = info.HostConfig.RestartPolicy;
    // Docker's stop keeps a restart policy from bringing the container back; signalled from
    // inside, it would come back unless the policy is off meanwhile.
    const restarts = Boolean(policy?.Name && policy.Name !== 'no');
    // Under the coverage spy every node process must end by the signal to write its coverage;
    // without it, a node PID 1 gets the signal as Docker gives it, and no time goes on asking.
    const instrumented = info.Config.Env?.some((e) => e.startsWith('NODE_V8_COVERAGE='));
    const inside =
      spec?.role === 'node' && (!pid1IsNode(info) || (instrumented && (await severalNodes(container))));
    if (inside && restarts) await container.update({ RestartPolicy: { Name: 'no' } }).catch(() => {});
    if (inside && (await signalNodes(this.docker, info.Id, 'SIGTERM'))) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        container.wait({ condition: 'not-running' }).catch(() => {}),
        new Promise((resolve) => {
          timer = setTimeout(resolve, graceMs);
        }),
      ]);
      clearTimeout(timer);
    }
    const left = Math.max(0, Math.ceil((graceMs - (Date.now() - started)) / 1000));
    await container.stop({ t: left }).catch(() => {});
    if (inside && restarts) await container.update({ RestartPolicy: policy }).catch(() => {});
  }

  private async mine(instance: string): Promise<Docker.Container> {
    const container = await this.findContainer(instance);
    if (!container) {
      const names = (await this.containers()).map((c) => DockerEngine.instanceName(c));
      throw new UserError(
        `there is no instance "${instance}" in run ${this.run.runId}; there are ${names.join(', ')}.`,
        2,
      );
    }
    return container;
  }

  async stopInstance(instance: string, how: 'graceful' | 'kill'): Promise<StopResult> {
    const container = await this.mine(instance);
    const before = await container.inspect();
    if (before.State.Paused) await container.unpause();
    const spec = this.stack.services.find((s) => s.name === before.Config.Labels?.[SERVICE_LABEL]);
    if (before.State.Running) {
      if (how === 'kill') await container.kill({ signal: 'SIGKILL' }).catch(() => {});
      else await this.stopGracefully(container, before, spec);
    }
    await container.wait({ condition: 'not-running' }).catch(() => {});
    const after = await container.inspect();
    return {
      instance,
      exitCode: after.State.ExitCode,
      graceful: how === 'graceful' && before.State.Running && after.State.ExitCode !== 137,
    };
  }

  async startInstance(instance: string): Promise<void> {
    const container = await this.mine(instance);
    if (!(await container.inspect()).State.Running) await container.start();
  }

  async addInstance(service: string): Promise<string> {
    const names = async () =>
      (await this.containers())
        .filter((c) => c.Labels[SERVICE_LABEL] === service)
        .map((c) => DockerEngine.instanceName(c));
    const before = await names();
    const scale = `${service}=${before.length + 1}`;
    const result = await this.compose([
      ...['up', '-d', '--no-build', '--no-recreate', '--no-deps', '--scale', scale, service],
    ]);
    const added = (await names()).find((n) => !before.includes(n));
    if (result.exitCode !== 0 || !added) throw composeFailed(`up --scale ${scale}`, this.run.runId, result);
    return added;
  }

  async retireInstance(instance: string): Promise<StopResult> {
    const result = await this.stopInstance(instance, 'graceful');
    const container = await this.mine(instance);
    const info = await container.inspect();
    const dir = coverageDirOf(info);
    if (dir) {
      const keep = path.join(this.store.dir(this.run.runId), 'retired', `${instance}-${Date.now()}`);
      await this.copyDir(info.Id, dir, keep);
      this.retired.push({
        service: info.Config.Labels?.[SERVICE_LABEL] as string,
        instance,
        dir: keep,
        exitCode: info.State.ExitCode,
      });
      this.store.save(this.run);
    }
    await container.remove({ force: true, v: true });
    return result;
  }

  async pause(instance: string, paused: boolean): Promise<void> {
    const container = await this.mine(instance);
    const state = (await container.inspect()).State;
    if (paused && !state.Paused) await container.pause();
    if (!paused && state.Paused) await container.unpause();
  }

  /**
   * What `compose down --volumes` does, through the daemon's API: every container stopped
   * gracefully, then removed with the run's networks and volumes, all carrying the run's label.
   * Compose v1 took 1.4 s of a 2.5 s `down` for this, most of it its own start-up.
   */
  async down(): Promise<void> {
    await this.stop();
    await removeByLabel(this.docker, `${RUN_LABEL}=${this.run.runId}`);
    this.store.remove(this.run.runId);
  }
}

/** Writes the regular files of a tar stream into `dir`, flat: the dumps are one directory's files. */
async function extractFiles(tar: NodeJS.ReadableStream, dir: string): Promise<void> {
  const { default: tarStream } = await import('tar-stream');
  const extract = tarStream.extract();
  const done = new Promise<void>((resolve, reject) => {
    extract.on('entry', (header, stream, next) => {
      if (header.type !== 'file') {
        stream.resume();
        stream.on('end', next);
        return;
      }
      const chunks: Buffer[] = [];
      stream.on('data', (c) => chunks.push(c as Buffer));
      stream.on('end', () => {
        writeFileSync(path.join(dir, path.basename(header.name)), Buffer.concat(chunks));
        next();
      });
    });
    extract.on('finish', resolve);
    extract.on('error', reject);
  });
  tar.pipe(extract);
  await done;
}

/** Removes containers, then networks and volumes, carrying the label: a run's `down`, and what a dead run left. */
export async function removeByLabel(docker: Docker, label: string): Promise<number> {
  const filters = { label: [label] };
  const containers = await removeContainers(docker, label);
  // A network or volume is free only once no container holds it: these go second.
  const [networks, { Volumes: volumes }] = await Promise.all([
    docker.listNetworks({ filters }),
    docker.listVolumes({ filters }),
  ]);
  await Promise.all([
    ...networks.map((n) =>
      docker
        .getNetwork(n.Id)
        .remove()
        .catch(() => {}),
    ),
    ...(volumes ?? []).map((v) =>
      docker
        .getVolume(v.Name)
        .remove()
        .catch(() => {}),
    ),
  ]);
  return containers + networks.length + (volumes?.length ?? 0);
}

/** Removes the containers carrying the label, with their anonymous volumes; says how many there were. */
async function removeContainers(docker: Docker, label: string): Promise<number> {
  const containers = await docker.listContainers({ all: true, filters: { label: [label] } });
  await Promise.all(
    containers.map((c) =>
      docker
        .getContainer(c.Id)
        .remove({ force: true, v: true })
        .catch(() => {}),
    ),
  );
  return containers.length;
}

export async function countByLabel(docker: Docker, label: string): Promise<number> {
  const filters = { label: [label] };
  const [c, n, v] = await Promise.all([
    docker.listContainers({ all: true, filters }),
    docker.listNetworks({ filters }),
    docker.listVolumes({ filters }),
  ]);
  return c.length + n.length + (v.Volumes?.length ?? 0);
}
