import { UserError } from '../errors.js';
import { endedBecause, Stalls, withLog } from '../stack/readiness.js';
import type { Condition, ServiceSpec } from '../stack/spec.js';
import { pause } from '../util/pause.js';
import type { Engine, Instance } from './types.js';

/** What an engine lends the start: a look at its instances, and the start of one service. */
export interface Starter extends Pick<Engine, 'instances' | 'changed' | 'tail'> {
  start(service: ServiceSpec): Promise<void>;
}

/** Refuses services that depend on each other in a circle: none of them could ever start. */
function checkNoCircle(services: ServiceSpec[]): void {
  const done = new Set<string>();
  const visit = (s: ServiceSpec, path: string[]) => {
    if (done.has(s.name)) return;
    if (path.includes(s.name))
      throw new UserError(`the services depend on each other in a circle: ${[...path, s.name].join(' → ')}`);
    for (const d of s.dependsOn) {
      const dep = services.find((x) => x.name === d.service);
      if (dep) visit(dep, [...path, s.name]);
    }
    done.add(s.name);
  };
  for (const s of services) visit(s, []);
}

/**
 * Whether a started service's instances meet a depends_on condition now, or why they never
 * will: the instance that exited when it should be healthy, or failed when it should complete.
 * Started is started, as compose has it, even for a service that has done its work and exited.
 */
function meets(
  mine: Instance[],
  service: string,
  condition: Condition,
  waiter: string,
): boolean | { instance: string; why: string } {
  if (condition === 'service_started') return true;
  if (mine.length === 0) return false;
  // One that its restart policy starts again has not ended: it is waited for (Stalls counts).
  const exited = mine.find((i) => (i.state === 'exited' && !i.restarting) || i.state === 'missing');
  if (condition === 'service_completed_successfully') {
    if (!exited) return false;
    if (exited.exitCode === 0) return true;
    return {
      instance: exited.name,
      why: `${waiter} waits for ${service} to complete, but ${exited.name} exited with code ${exited.exitCode}${endedBecause(exited)}`,
    };
  }
  if (exited)
    return {
      instance: exited.name,
      why: `${waiter} waits for ${service} to be healthy, but ${exited.name} exited with code ${exited.exitCode}${endedBecause(exited)}`,
    };
  return mine.every((i) => !i.restarting && (i.health === 'healthy' || i.health === 'none'));
}

/**
 * Starts each service as soon as every service it depends on meets its condition (started,
 * healthy, or completed), as compose does, and services that wait on nothing at once, side by
 * side: one look at the instances per step serves every waiting service. Fails naming who
 * waited for what when a dependency exits or the deadline passes.
 */
export async function startInOrder(
  services: ServiceSpec[],
  deadline: number,
  starter: Starter,
): Promise<void> {
  checkNoCircle(services);
  const stalls = new Stalls();
  const started = new Set<string>();
  let waiting = [...services];
  while (waiting.length > 0) {
    // A look only when an answer hangs on it: not before the first start, nor for started alone.
    const needsLook = waiting.some((s) =>
      s.dependsOn.some((d) => started.has(d.service) && d.condition !== 'service_started'),
    );
    const list = needsLook ? await starter.instances() : [];
    const ready: ServiceSpec[] = [];
    const unmet: string[] = [];
    for (const svc of waiting) {
      const pending: string[] = [];
      for (const d of svc.dependsOn) {
        // Until it is started, what the engine says of a service's containers is not its answer.
        const met =
          started.has(d.service) &&
          meets(
            list.filter((i) => i.service === d.service),
            d.service,
            d.condition,
            svc.name,
          );
        if (typeof met === 'object') throw await withLog(starter, met.instance, met.why);
        if (!met) pending.push(`${svc.name} on ${d.service} (${d.condition})`);
        // A dependency that will not get healthy (or keeps crashing) is named now, not at the deadline.
        if (!met && started.has(d.service) && d.condition !== 'service_started')
          for (const i of list.filter((x) => x.service === d.service)) {
            const why = stalls.why(i, Date.now(), false);
            if (why)
              throw await withLog(
                starter,
                i.name,
                `${svc.name} waits for ${d.service} to ${d.condition === 'service_healthy' ? 'be healthy' : 'complete'}, but ${i.name} ${why}`,
              );
          }
      }
      if (pending.length === 0) ready.push(svc);
      unmet.push(...pending);
    }
    await Promise.all(ready.map((s) => starter.start(s)));
    for (const s of ready) started.add(s.name);
    waiting = waiting.filter((s) => !ready.includes(s));
    if (waiting.length === 0 || ready.length > 0) continue;
    if (Date.now() > deadline)
      throw new UserError(
        `the start waited past the readiness timeout for ${unmet.join(', ')}. Raise REALSTACK_READY_TIMEOUT_MS if the machine is slow`,
      );
    // Every dependant waits on this step: a short one is worth its few extra looks.
    await pause(100, starter.changed?.());
  }
}
