import type Docker from 'dockerode';
import { probeService } from '../stack/probe.js';
import type { ServiceSpec } from '../stack/spec.js';
import { Wake } from '../util/wake.js';
import { execIn } from './container-exec.js';
import type { DockerEndpoint } from './docker.js';
import { programInContainer } from './docker-api.js';
import { answeredByProbe } from './known-checks.js';
import type { Health } from './types.js';

/** Where a program without a slash is looked for when the container's environment names no PATH (Docker's). */
const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

const lastLine = (text: string): string => text.trim().split('\n').at(-1)?.trim() ?? '';

/** One run of a container, from its start to its end: a restart begins another. */
const lifeOf = (info: Docker.ContainerInspectInfo): string => `${info.Id}@${info.State.StartedAt}`;

/**
 * Docker's status, and the run of the check it rests on. Docker marks a container unhealthy when
 * it stops the check's monitor (a pause does; the unpause restarts it, and the status holds until
 * the next interval, 30 s in many compose files) with no check failed: that status says nothing,
 * and is `starting` here, keyed by the last check, so that one run of realstack's answers it.
 */
function dockerSays(info: Docker.ContainerInspectInfo): { status?: Health; life: string } {
  const status = info.State.Health?.Status as Health | undefined;
  const last = info.State.Health?.Log?.at(-1);
  if (status === 'unhealthy' && (!last || last.ExitCode === 0))
    return { status: 'starting', life: `${lifeOf(info)}#${last?.End ?? 'unchecked'}` };
  return { status, life: lifeOf(info) };
}

/** Nanoseconds, as Docker states a health check's timeout; Docker's default when unset. */
const DEFAULT_TIMEOUT_NS = 30e9;
/** At most one run of a container's check per this long, while it is starting. */
const MIN_GAP_MS = 250;

/**
 * A container's own health check, run now instead of at Docker's next interval.
 *
 * Docker runs the first check one interval after the start (30 s in the reference stack and in
 * many users' compose files) and knows nothing between checks; Docker 25's `start_interval`
 * is the daemon's answer, and 20.10 does not have it. While Docker still says "starting",
 * realstack runs the container's check itself, through `docker exec`, as soon as its own probe
 * from the host (the published port, the health path, PostgreSQL accepting connections) says
 * the service answers: the check is still the user's, so "ready" means what the compose file
 * says; the probe only keeps realstack from spawning the check inside a container that is still
 * booting. Where the check asks what the probe has just asked (`pg_isready`, a `curl` of the
 * health path: ./known-checks.ts) and the image has its programs, the probe's pass is the
 * check's, and nothing runs in the container. Docker's status wins once it has one.
 *
 * A poller (the wait for readiness) does not wait for the check it starts: its next look sees
 * the answer. A Node check takes a third of a second, and one look covers every container:
 * waiting would hold back what the look says of the others (the api, ready meanwhile, seen only
 * once auth's check ends). A single look (`ps`) waits, so that it says what the check said.
 */
export class HealthNow {
  private readonly passed = new Set<string>();
  private readonly lastRun = new Map<string, number>();
  private readonly cannotRun = new Map<string, string>();
  private readonly running = new Map<string, Promise<boolean>>();
  /** Per container run: whether its check is one the probe answers, its programs found; asked once. */
  private readonly knownCheck = new Map<string, Promise<boolean>>();
  private readonly ended = new Wake();

  /** dockerode is loaded when a check first runs, not for a look at a stack already healthy. */
  constructor(private readonly endpoint: DockerEndpoint) {}

  /** Settles when the next check realstack runs ends: one promise for every waiter, until then. */
  checkEnded(): Promise<void> {
    return this.ended.next();
  }

  /**
   * Why the container's check will never pass, when a run of it (realstack's or Docker's) said
   * its command cannot run there; else the last output of Docker's checks once it says unhealthy.
   */
  problem(info: Docker.ContainerInspectInfo, spec: ServiceSpec | undefined): string | undefined {
    const [kind, ...rest] = info.Config.Healthcheck?.Test ?? [];
    const written = kind === 'CMD' || kind === 'CMD-SHELL' ? rest.join(' ') : '';
    const last = info.State.Health?.Log?.at(-1);
    const docker = dockerSays(info);
    const said =
      this.cannotRun.get(docker.life) ??
      (last && (last.ExitCode === 126 || last.ExitCode === 127) ? lastLine(last.Output) : undefined);
    if (said) {
      const node =
        spec?.role === 'node'
          ? ` (node is there: node -e "fetch('http://127.0.0.1:${spec.containerPort ?? 'PORT'}${spec.healthPath ?? '/'}').then(r => process.exit(r.ok ? 0 : 1), () => process.exit(1))")`
          : '';
      return `cannot pass its health check (${written}): the check cannot run in the container (${said}). Make it use a command the image has${node}, or add the command to the image`;
    }
    if (docker.status === 'unhealthy' && last) {
      const output = lastLine(last.Output);
      return `is unhealthy: its health check (${written}) keeps failing; its last run exited ${last.ExitCode}${output ? ` and said: ${output}` : ''}`;
    }
    return undefined;
  }

  async health(
    info: Docker.ContainerInspectInfo,
    spec: ServiceSpec | undefined,
    url: string | undefined,
    polling = false,
  ) {
    const { status: docker, life } = dockerSays(info);
    const test = info.Config.Healthcheck?.Test;
    if (docker !== 'starting' || !test || test[0] === 'NONE') return docker;
    // A restarted container starts its health over, and so does realstack's record of it.
    if (this.passed.has(life)) return 'healthy';
    let check = this.running.get(life);
    if (!check) {
      // Any answer will do to run the check: a health path that is not the check's (404) is an answer.
      const probe = url ? await probeService(spec, url) : undefined;
      if (probe === 'starting') return 'starting';
      if (probe === 'healthy' && spec && (await this.answered(info, spec, life))) {
        this.passed.add(life);
        return 'healthy';
      }
      const now = Date.now();
      if (now - (this.lastRun.get(life) ?? 0) < MIN_GAP_MS) return 'starting';
      this.lastRun.set(life, now);
      const timeoutMs = (info.Config.Healthcheck?.Timeout || DEFAULT_TIMEOUT_NS) / 1e6;
      check = this.run(info.Id, life, test, timeoutMs).finally(() => {
        this.running.delete(life);
        this.ended.fire();
      });
      this.running.set(life, check);
    }
    if (polling) return 'starting';
    return (await check) ? 'healthy' : 'starting';
  }

  /**
   * Whether the probe that just passed has answered the container's check (./known-checks.ts),
   * and the image has what the check runs: without `curl`, a `curl` check fails in Docker.
   */
  private answered(info: Docker.ContainerInspectInfo, spec: ServiceSpec, life: string): Promise<boolean> {
    let known = this.knownCheck.get(life);
    if (!known) {
      known = this.readCheck(info, spec);
      this.knownCheck.set(life, known);
    }
    return known;
  }

  private async readCheck(info: Docker.ContainerInspectInfo, spec: ServiceSpec): Promise<boolean> {
    const env = Object.fromEntries(
      (info.Config.Env ?? []).map((e) => [e.slice(0, e.indexOf('=')), e.slice(e.indexOf('=') + 1)]),
    );
    // PostgreSQL and Redis are probed by their protocols, not at a health path.
    const http = spec.role !== 'postgres' && spec.role !== 'redis';
    const programs = answeredByProbe(
      info.Config.Healthcheck?.Test,
      { role: spec.role, port: spec.containerPort, path: http ? spec.healthPath : undefined },
      env,
    );
    if (!programs) return false;
    const dirs = (env.PATH ?? DEFAULT_PATH).split(':').filter((d) => d.startsWith('/'));
    const found = await Promise.all(
      programs.map(async (program) => {
        const places = program.includes('/') ? [program] : dirs.map((d) => `${d}/${program}`);
        const here = await Promise.all(places.map((p) => programInContainer(this.endpoint, info.Id, p)));
        return here.includes(true);
      }),
    );
    return !found.includes(false);
  }

  /** Runs the check as Docker would (CMD: the arguments; CMD-SHELL: through /bin/sh -c). */
  private async run(id: string, life: string, test: string[], timeoutMs: number): Promise<boolean> {
    const [kind, ...rest] = test;
    const cmd = kind === 'CMD-SHELL' ? ['/bin/sh', '-c', rest.join(' ')] : kind === 'CMD' ? rest : test;
    // undefined: a container that stopped meanwhile, which the next look at it shows.
    const result = await execIn(this.endpoint.docker, id, cmd, timeoutMs);
    if (result?.exitCode === 0) this.passed.add(life);
    // 126 and 127: the command cannot be run or is not there (`curl` in an image without it).
    if (result?.exitCode === 126 || result?.exitCode === 127)
      this.cannotRun.set(life, lastLine(result.output) || `exit ${result.exitCode}`);
    return result?.exitCode === 0;
  }
}
