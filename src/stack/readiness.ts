import type { Engine, Instance } from '../engine/types.js';
import { UserError } from '../errors.js';
import { pause } from '../util/pause.js';

export interface ReadyOptions {
  timeoutMs: number;
  /** Called when an instance's health changes: progress for the terminal. */
  onChange?(instance: Instance, elapsedMs: number): void;
  /** How long a service may answer "unhealthy" before that counts as failure. */
  unhealthyGraceMs?: number;
  /** The instances to wait for (one just started, say); every one when left out. */
  only?(instance: Instance): boolean;
}

/** An error that ends with the instance's last log lines: most often, they say why. */
export async function withLog(
  engine: Pick<Engine, 'tail'>,
  instance: string,
  message: string,
): Promise<UserError> {
  const lines = await engine.tail(instance, 20).catch(() => []);
  const log =
    lines.length > 0 ? `\nlast ${lines.length} log lines of ${instance}:\n  ${lines.join('\n  ')}` : '';
  return new UserError(`${message}${log}`);
}

const failure = (engine: Engine, inst: Instance, why: string) =>
  withLog(engine, inst.name, `${inst.name} ${why}`);

/** What the engine knows of why an ended instance ended, after what the message said of it. */
export const endedBecause = (inst: Instance): string => (inst.problem ? `; it ${inst.problem}` : '');

/** How long an engine's problem with an instance must last before the start fails on it. */
const PROBLEM_GRACE_MS = 5000;
/**
 * Restarts by its restart policy while the start waits, before it counts as a crash loop: a
 * service that exits until a peer answers comes back within Docker's backoff (0.1, 0.2, 0.4,
 * 0.8, 1.6 s); one that never gets further is named after about three seconds, not at the
 * readiness timeout.
 */
const MAX_START_RESTARTS = 5;

/**
 * Why an instance will not get ready, once it has lasted: a problem the engine sees (one may
 * pass: a server that opens its main port last) for 5 s, or a failing health check for the
 * grace. Both the start of dependants (start-order.ts) and the wait for the whole stack ask.
 */
export class Stalls {
  private readonly problemSince = new Map<string, number>();
  private readonly unhealthySince = new Map<string, number>();
  private readonly restartsBefore = new Map<string, number>();
  constructor(private readonly unhealthyGraceMs = 10_000) {}

  why(inst: Instance, now: number, ready: boolean): string | undefined {
    if (!this.restartsBefore.has(inst.name)) this.restartsBefore.set(inst.name, inst.restarts ?? 0);
    const restarts = (inst.restarts ?? 0) - (this.restartsBefore.get(inst.name) as number);
    if (restarts >= MAX_START_RESTARTS && !ready)
      return `keeps exiting while starting: its restart policy started it again ${restarts} times${inst.restarting ? `, and it exited with code ${inst.exitCode} once more` : ''}${endedBecause(inst)}`;
    const lasted = (since: Map<string, number>, active: boolean, ms: number) => {
      if (!active) {
        since.delete(inst.name);
        return false;
      }
      if (!since.has(inst.name)) since.set(inst.name, now);
      return now - (since.get(inst.name) as number) >= ms;
    };
    const problem =
      Boolean(inst.problem) && inst.state === 'running' && inst.health !== 'unhealthy' && !ready;
    if (lasted(this.problemSince, problem, PROBLEM_GRACE_MS)) return inst.problem;
    if (lasted(this.unhealthySince, inst.health === 'unhealthy', this.unhealthyGraceMs))
      return inst.problem ?? 'is unhealthy: its health check keeps failing';
    return undefined;
  }
}

/**
 * Waits until every instance is running and healthy, under one overall timeout. Fails at
 * once when a process exits, with its exit code and last log lines: waiting on would only
 * delay the same answer. One its restart policy starts again is waited for, up to a few restarts.
 */

export async function waitReady(engine: Engine, options: ReadyOptions): Promise<Instance[]> {
  const start = Date.now();
  // A service others wait for (a migration) is done when it exits 0.
  const oneShot = new Set(engine.stack.services.flatMap((s) => s.dependsOn.map((d) => d.service)));
  const done = (i: Instance) => i.state === 'exited' && i.exitCode === 0 && oneShot.has(i.service);
  const seen = new Map<string, string>();
  const stalls = new Stalls(options.unhealthyGraceMs);
  const ready = (i: Instance) =>
    done(i) || (i.state === 'running' && (i.health === 'healthy' || i.health === 'none'));
  for (;;) {
    const list = (await engine.instances({ polling: true })).filter((i) => options.only?.(i) ?? true);
    const now = Date.now();
    for (const inst of list) {
      const key = `${inst.state}/${inst.health}`;
      if (seen.get(inst.name) !== key) {
        seen.set(inst.name, key);
        options.onChange?.(inst, now - start);
      }
      if (done(inst)) continue;
      // Its restart policy starts it again: the restarts are counted (Stalls), not the exit.
      if (inst.state === 'exited' && !inst.restarting)
        throw await failure(
          engine,
          inst,
          `exited with code ${inst.exitCode} while starting${endedBecause(inst)}`,
        );
      if (inst.state === 'missing')
        throw await failure(engine, inst, 'is gone: its process ended without a trace');
      const why = stalls.why(inst, now, ready(inst));
      if (why) throw await failure(engine, inst, why);
    }
    if (list.length > 0 && list.every(ready)) return list;
    if (now - start > options.timeoutMs) {
      const waiting = list.filter((i) => !ready(i));
      const first = waiting[0];
      if (first) {
        throw await failure(
          engine,
          first,
          `not healthy after ${options.timeoutMs} ms (waiting for: ${waiting.map((i) => `${i.name} ${i.health}`).join(', ')}). ` +
            'Raise REALSTACK_READY_TIMEOUT_MS if the machine is slow',
        );
      }
      throw new UserError(`no service of the stack appeared within ${options.timeoutMs} ms`);
    }
    // A service is ready whenever it is; a long step here is a delay on every `up`.
    await pause(100, engine.changed?.());
  }
}
