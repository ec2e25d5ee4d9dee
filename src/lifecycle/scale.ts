import { describeStop } from '../engine/stop.js';
import type { Engine, Instance } from '../engine/types.js';
import { UserError } from '../errors.js';
import type { Log } from '../log.js';
import { waitReady } from '../stack/readiness.js';
import type { ServiceSpec } from '../stack/spec.js';
import type { RotationLoad } from './rotation-load.js';

export interface ChangeOptions {
  /** How long a new or restarted instance may take to be ready. */
  timeoutMs: number;
  log: Log;
  /** Instances join it once ready and leave it before they stop. */
  load: RotationLoad;
}

const seconds = (since: number) => `${((performance.now() - since) / 1000).toFixed(1)} s`;
const replica = (i: Instance) => Number(i.name.slice(i.service.length + 1));

function serviceOf(engine: Engine, service: string): ServiceSpec {
  const svc = engine.stack.services.find((s) => s.name === service);
  if (!svc)
    throw new UserError(
      `there is no service "${service}" in run ${engine.run.runId}; its services are ${engine.stack.services.map((s) => s.name).join(', ')}.`,
      2,
    );
  return svc;
}

/** The service's instances, each running: a change starts from a stack that answers. */
export async function runningInstances(engine: Engine, service: string): Promise<Instance[]> {
  serviceOf(engine, service);
  const mine = (await engine.instances()).filter((i) => i.service === service);
  const down = mine.filter((i) => i.state !== 'running');
  if (down.length)
    throw new UserError(
      `${down.map((i) => `${i.name} is ${i.state}`).join(', ')}: start the stack again (\`npx realstack down\`, then \`up\`) before changing ${service}.`,
    );
  return mine.sort((a, b) => replica(a) - replica(b));
}

async function ready(engine: Engine, name: string, o: ChangeOptions): Promise<Instance> {
  const [inst] = await waitReady(engine, { timeoutMs: o.timeoutMs, only: (i) => i.name === name });
  return inst as Instance;
}

/**
 * Runs `service` as `replicas` instances: new ones start together and join the load once each is
 * ready; surplus ones (the highest numbers, never the first, which peers reach) leave the load,
 * then stop gracefully and are retired with their coverage kept.
 */
export async function scaleService(
  engine: Engine,
  service: string,
  replicas: number,
  o: ChangeOptions,
): Promise<void> {
  const svc = serviceOf(engine, service);
  if (svc.role === 'postgres' || svc.role === 'redis')
    throw new UserError(
      `${service} is a ${svc.role === 'redis' ? 'Redis' : 'PostgreSQL'} server: realstack runs each data store once. Scale the services that use it.`,
      2,
    );
  if (svc.knownPortVar)
    throw new UserError(
      `${service} publishes one known port (its public URL, ${svc.knownPortVar}), so it runs once.`,
      2,
    );
  const now = await runningInstances(engine, service);
  if (replicas > now.length) {
    const added: string[] = [];
    for (let i = now.length; i < replicas; i++) added.push(await engine.addInstance(service));
    o.log(`${service}: starting ${added.join(', ')}`);
    const started = performance.now();
    for (const name of added) {
      const inst = await ready(engine, name, o);
      if (inst.url) o.load.join(name, inst.url);
      o.log(`  ${name} ready at ${inst.url ?? '(no port)'} after ${seconds(started)}`);
    }
  }
  for (const inst of now.slice(replicas).reverse()) {
    await o.load.leave(inst.name);
    o.log(describeStop(await engine.retireInstance(inst.name)));
  }
  o.log(`${service}: ${replicas} instance${replicas === 1 ? '' : 's'}`);
}

/**
 * Restarts every instance of `service` in place (same name, port and data): rolling, one at a
 * time, the next only once the last is ready again; else all stopped, then all started.
 */
export async function restartService(
  engine: Engine,
  service: string,
  rolling: boolean,
  o: ChangeOptions,
): Promise<void> {
  const now = await runningInstances(engine, service);
  if (rolling && now.length < 2)
    o.log(
      `${service} has one instance: while it restarts, nothing answers for it. \`npx realstack scale ${service}=2\` first for a restart without downtime.`,
    );
  const back = async (name: string, started: number) => {
    const inst = await ready(engine, name, o);
    if (inst.url) o.load.join(name, inst.url);
    o.log(`  ${name} ready again after ${seconds(started)}`);
  };
  if (rolling) {
    for (const inst of now) {
      const started = performance.now();
      await o.load.leave(inst.name);
      o.log(describeStop(await engine.stopInstance(inst.name, 'graceful')));
      await engine.startInstance(inst.name);
      await back(inst.name, started);
    }
    return;
  }
  const started = performance.now();
  for (const inst of now) await o.load.leave(inst.name);
  for (const r of await Promise.all(now.map((i) => engine.stopInstance(i.name, 'graceful'))))
    o.log(describeStop(r));
  for (const inst of now) await engine.startInstance(inst.name);
  for (const inst of now) await back(inst.name, started);
}

/**
 * Rolls `service` onto its current build or image under the load, never leaving it without a
 * ready instance: one new instance starts first and joins once ready (the service applies its
 * migrations before it answers its health check), then each old instance leaves. Where a restart
 * runs the current build (the process engine) the old ones restart in place, each ready before
 * the next, and the extra one goes last; where an instance keeps its image (docker) each old one
 * is replaced by a new one. A rollback is the same command on the previous build.
 */
export async function updateService(engine: Engine, service: string, o: ChangeOptions): Promise<void> {
  const svc = serviceOf(engine, service);
  if (svc.role === 'postgres')
    throw new UserError(
      `${service} is a PostgreSQL server: update it with \`npx realstack db backup\`, a new stack and \`db restore\`.`,
      2,
    );
  const now = await runningInstances(engine, service);
  const arrive = async (name: string, started: number) => {
    const inst = await ready(engine, name, o);
    if (inst.url) o.load.join(name, inst.url);
    o.log(`  ${name} ready on the new build after ${seconds(started)}`);
  };
  if (svc.knownPortVar) {
    // One instance on a fixed port: no second can start beside it.
    if (!engine.startsCurrentBuild)
      throw new UserError(
        `${service} publishes one known port (${svc.knownPortVar}), so no new container can start beside it: take the stack down and up again to run its new image.`,
        2,
      );
    o.log(
      `${service} publishes one known port (${svc.knownPortVar}): it restarts in place, and answers nothing meanwhile`,
    );
    return restartService(engine, service, true, o);
  }
  let started = performance.now();
  const first = await engine.addInstance(service);
  o.log(`${service}: starting ${first} on the new build`);
  await arrive(first, started);
  for (const [n, old] of now.entries()) {
    if (n > 0 && !engine.startsCurrentBuild) {
      started = performance.now();
      await arrive(await engine.addInstance(service), started);
    }
    await o.load.leave(old.name);
    if (!engine.startsCurrentBuild) {
      o.log(describeStop(await engine.retireInstance(old.name)));
      continue;
    }
    started = performance.now();
    o.log(describeStop(await engine.stopInstance(old.name, 'graceful')));
    await engine.startInstance(old.name);
    await arrive(old.name, started);
  }
  if (engine.startsCurrentBuild) {
    await o.load.leave(first);
    o.log(describeStop(await engine.retireInstance(first)));
  }
  o.log(`${service}: ${now.length} instance${now.length === 1 ? '' : 's'} on the new build`);
}
