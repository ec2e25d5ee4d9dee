import type { ServiceSpec } from '../stack/spec.js';

/** PostgreSQL and Redis: what services keep connections to, whether the compose file says so or not. */
const isStore = (svc: ServiceSpec | undefined) => svc?.role === 'postgres' || svc?.role === 'redis';

/** Every service `name` depends on, directly or through others. */
function dependencies(services: ServiceSpec[], name: string, seen = new Set<string>()): Set<string> {
  for (const d of services.find((s) => s.name === name)?.dependsOn ?? []) {
    if (seen.has(d.service)) continue;
    seen.add(d.service);
    dependencies(services, d.service, seen);
  }
  return seen;
}

/**
 * Stops instances a service at a time, dependants first, as compose does: a service stops once
 * every service that depends on it has stopped, so that a worker's graceful shutdown (closing its
 * queue, draining its pool) still has the Redis or database it talks to. A data store also waits
 * for every service that does not lead to it, since services often use one without a
 * `depends_on`. The instances of a service the stack does not know stop first; a circle of
 * waits, which depends_on cannot make but the stores' rule could, stops together.
 */
export async function stopInOrder<I, T>(
  services: ServiceSpec[],
  instances: I[],
  serviceOf: (instance: I) => string,
  stopOne: (instance: I) => Promise<T>,
): Promise<T[]> {
  const spec = (name: string) => services.find((s) => s.name === name);
  const present = [...new Set(instances.map(serviceOf))];
  const waitsFor = new Map(
    present.map((name) => {
      const dependants = present.filter((other) => spec(other)?.dependsOn.some((d) => d.service === name));
      const leadsHere = isStore(spec(name)) ? dependencies(services, name) : undefined;
      const before = leadsHere
        ? present.filter((other) => !isStore(spec(other)) && !leadsHere.has(other))
        : [];
      return [name, new Set([...dependants, ...before])];
    }),
  );
  const results: T[] = [];
  let left = present;
  while (left.length > 0) {
    const ready = left.filter((name) => [...(waitsFor.get(name) ?? [])].every((w) => !left.includes(w)));
    const wave = ready.length > 0 ? ready : left;
    results.push(...(await Promise.all(instances.filter((i) => wave.includes(serviceOf(i))).map(stopOne))));
    left = left.filter((name) => !wave.includes(name));
  }
  return results;
}
