import type Docker from 'dockerode';
import { probeService } from '../stack/probe.js';
import type { ServiceSpec } from '../stack/spec.js';
import { execIn } from './container-exec.js';
import type { Health } from './types.js';

/** Nanoseconds, as Docker states a health check's timeout; Docker's default when unset. */
const DEFAULT_TIMEOUT_NS = 30e9;
/** At most one run of a container's check per this long, while it is starting. */
const MIN_GAP_MS = 250;

/**
 * A container's own health check, run now instead of at Docker's next interval.
 *
 * Docker runs the first check one interval after the start (1 s in the reference stack, often
 * 30 s in a user's compose file) and knows nothing between checks; Docker 25's `start_interval`
 * is the daemon's answer, and 20.10 does not have it. While Docker still says "starting",
 * realstack runs the container's check itself, through `docker exec`, as soon as its own probe
 * from the host (the published port, the health path, a PostgreSQL login) says the service
 * answers: the check is still the user's, so "ready" means what the compose file says; the
 * probe only keeps realstack from spawning the check inside a container that is still booting.
 * Docker's status wins once it has one.
 */
export class HealthNow {
  private readonly passed = new Set<string>();
  private readonly lastRun = new Map<string, number>();

  constructor(private readonly docker: Docker) {}

  async health(info: Docker.ContainerInspectInfo, spec: ServiceSpec | undefined, url: string | undefined) {
    const docker = info.State.Health?.Status as Health | undefined;
    const test = info.Config.Healthcheck?.Test;
    if (docker !== 'starting' || !test || test[0] === 'NONE') return docker;
    // A restarted container starts its health over, and so does realstack's record of it.
    const life = `${info.Id}@${info.State.StartedAt}`;
    if (this.passed.has(life)) return 'healthy';
    if (url && (await probeService(spec, url)) !== 'healthy') return 'starting';
    const now = Date.now();
    if (now - (this.lastRun.get(life) ?? 0) < MIN_GAP_MS) return 'starting';
    this.lastRun.set(life, now);
    const timeoutMs = (info.Config.Healthcheck?.Timeout || DEFAULT_TIMEOUT_NS) / 1e6;
    if (!(await this.run(info.Id, test, timeoutMs))) return 'starting';
    this.passed.add(life);
    return 'healthy';
  }

  /** Runs the check as Docker would (CMD: the arguments; CMD-SHELL: through /bin/sh -c). */
  private async run(id: string, test: string[], timeoutMs: number): Promise<boolean> {
    const [kind, ...rest] = test;
    const cmd = kind === 'CMD-SHELL' ? ['/bin/sh', '-c', rest.join(' ')] : kind === 'CMD' ? rest : test;
    // undefined: a container that stopped meanwhile, which the next look at it shows.
    return (await execIn(this.docker, id, cmd, timeoutMs)) === 0;
  }
}
