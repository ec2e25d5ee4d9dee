import { urlVariable } from '../conventions/urls.js';
import type { Engine } from '../engine/types.js';
import type { FileCounts } from '../results/model.js';

const REFUSED = /ECONNREFUSED (?:127\.0\.0\.1|::1|localhost)?:(\d+)/g;

/**
 * Tests written against the ports of the compose file (`http://localhost:3000`) fail with
 * ECONNREFUSED when realstack publishes those ports elsewhere, so that two runs never clash,
 * and the failure alone does not say so. For each refused port a service's compose entry
 * publishes: the service, where this run published it, and the two ways out.
 */
export async function refusedPortHints(files: FileCounts[], engine: Engine): Promise<string[]> {
  const refused = new Set<number>();
  for (const f of files)
    for (const t of f.tests)
      if (t.status !== 'passed')
        for (const failure of t.failures)
          for (const m of failure.matchAll(REFUSED)) refused.add(Number(m[1]));
  const moved = [...refused].flatMap((port) =>
    engine.stack.services.flatMap((svc) => {
      const published = svc.ports.find((p) => p.moved === port);
      return published ? [{ port, svc, published }] : [];
    }),
  );
  if (moved.length === 0) return [];
  const instances = await engine.instances().catch(() => []);
  const urls = Object.fromEntries(instances.map((i) => [i.service, i.url]));
  return moved.map(({ port, svc, published }) => {
    const here = urls[svc.name] ? `, at ${urls[svc.name]} in this run` : '';
    return `a test connected to port ${port}, which ${svc.name} publishes in the compose file (${port}:${published.container}); realstack publishes it on a free port of 127.0.0.1 instead${here}, so that runs never clash. Read the URL from ${urlVariable(svc.name)} in the test (or serviceUrl('${svc.name}') from 'realstack'), or set "pinPorts": true in ${svc.name}'s entry in realstack.json to keep the compose file's ports.`;
  });
}
