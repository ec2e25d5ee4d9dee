import { request } from 'undici';
import type { Engine } from '../engine/types.js';
import { UserError } from '../errors.js';

/** One record of test data, as a service's admin API lists it. */
export interface TestRecord {
  id: string;
  name: string;
  detail?: Record<string, number>;
}

export interface ServiceTestData {
  service: string;
  /** Records by kind ("clients", "organisations", ...); empty when the service has no such API. */
  records: Record<string, TestRecord[]>;
  /** Set when the service does not speak the test-data protocol (404). */
  unsupported?: boolean;
}

interface Endpoint {
  service: string;
  url: string;
}

/** Every HTTP service of the stack, in compose order: the order in which subjects are learnt. */
async function endpoints(engine: Engine): Promise<Endpoint[]> {
  const instances = await engine.instances();
  return engine.stack.services.flatMap((svc) => {
    const url = instances.find((i) => i.service === svc.name && i.url?.startsWith('http'))?.url;
    return url ? [{ service: svc.name, url }] : [];
  });
}

async function call(
  endpoint: Endpoint,
  action: 'list' | 'delete',
  adminToken: string,
  body: { run?: string; subjects: string[] },
): Promise<Record<string, unknown> | undefined> {
  let res: Awaited<ReturnType<typeof request>>;
  try {
    res = await request(new URL(`/admin/test-data/${action}`, endpoint.url), {
      method: 'POST',
      headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
      headersTimeout: 30_000,
    });
  } catch (err) {
    throw new UserError(
      `${endpoint.service} at ${endpoint.url} does not answer (${(err as Error).message}): is the stack up? \`npx just status\` shows it.`,
    );
  }
  const text = await res.body.text();
  if (res.statusCode === 404) return undefined;
  if (res.statusCode === 401) {
    throw new UserError(
      `${endpoint.service} refused the admin token: REALSTACK_ADMIN_TOKEN (environment or .env) is not the one this stack started with. Use the stack's, or restart it (\`npx just down && npx just up\`).`,
    );
  }
  if (res.statusCode !== 200)
    throw new UserError(
      `${endpoint.service}: ${action} of test data answered ${res.statusCode}: ${text.slice(0, 300)}`,
    );
  return JSON.parse(text) as Record<string, unknown>;
}

/**
 * Lists each service's test data ("TEST " names, or one run's). Services are asked in compose
 * order and each may name subjects (e.g. auth's test users) that the later ones own data for.
 */
export async function listTestData(
  engine: Engine,
  adminToken: string,
  run?: string,
): Promise<{ services: ServiceTestData[]; subjects: string[] }> {
  const subjects: string[] = [];
  const services: ServiceTestData[] = [];
  for (const endpoint of await endpoints(engine)) {
    const answer = await call(endpoint, 'list', adminToken, { ...(run ? { run } : {}), subjects });
    if (!answer) {
      services.push({ service: endpoint.service, records: {}, unsupported: true });
      continue;
    }
    services.push({ service: endpoint.service, records: answer.records as Record<string, TestRecord[]> });
    subjects.push(...((answer.subjects as string[] | undefined) ?? []));
  }
  return { services, subjects };
}

/**
 * Deletes it: the services that hold data of others' subjects first (reverse compose order),
 * so that a subject is forgotten only after everything it owned is gone.
 */
export async function deleteTestData(
  engine: Engine,
  adminToken: string,
  run?: string,
): Promise<{ service: string; removed: Record<string, number> }[]> {
  const { services, subjects } = await listTestData(engine, adminToken, run);
  const supported = new Set(services.filter((s) => !s.unsupported).map((s) => s.service));
  const removed: { service: string; removed: Record<string, number> }[] = [];
  for (const endpoint of (await endpoints(engine)).reverse()) {
    if (!supported.has(endpoint.service)) continue;
    const answer = await call(endpoint, 'delete', adminToken, { ...(run ? { run } : {}), subjects });
    removed.push({ service: endpoint.service, removed: (answer?.removed as Record<string, number>) ?? {} });
  }
  return removed.reverse();
}

export const recordCount = (data: ServiceTestData[]) =>
  data.reduce((n, s) => n + Object.values(s.records).reduce((m, list) => m + list.length, 0), 0);
