import { request } from 'undici';
import type { Engine, Instance } from '../engine/types.js';
import { UserError } from '../errors.js';
import type { ServiceSpec } from '../stack/spec.js';
import { deleteSqlTestData, findSqlTestData, listSqlTestData } from './sql-test-data.js';

/** One record of test data, as a service's admin API or a SQL query lists it. */
export interface TestRecord {
  id: string;
  name: string;
  detail?: Record<string, number>;
}

export interface ServiceTestData {
  service: string;
  /** How realstack looked: the service's test-data API, SQL on its tables, or not at all. */
  via: 'api' | 'sql' | 'none';
  /** Records by kind ("clients", "organisations", a table); empty when it did not look. */
  records: Record<string, TestRecord[]>;
  /** Why it did not look, or what else the user should know. */
  note?: string;
  /** Rows with test names its schema showed, where nothing says to delete them (`undeclared`). */
  found?: number;
}

const NOT_DECLARED =
  'not looked at: realstack.json declares no test-data API ("testData") and no "sqlCleanup" for it';

function url(instances: Instance[], svc: ServiceSpec): string {
  const found = instances.find((i) => i.service === svc.name && i.url)?.url;
  if (!found)
    throw new UserError(
      `${svc.name} has no URL on the running stack: is it up? \`npx realstack ps\` shows it.`,
    );
  return found;
}

function token(svc: ServiceSpec, env: NodeJS.ProcessEnv): string {
  const variable = svc.testData?.tokenVariable as string;
  const value = env[variable];
  if (!value)
    throw new UserError(
      `${variable} is not set (environment, .env or .realstack/secrets.env): ${svc.name}'s test-data API needs it.`,
    );
  return value;
}

/**
 * Why a service without a declaration was not cleaned; for PostgreSQL, with the `sqlCleanup`
 * entries its schema calls for, found by reading it (the columns that hold test names now).
 */
async function undeclared(
  engine: Engine,
  svc: ServiceSpec,
  instances: Instance[],
  run?: string,
): Promise<ServiceTestData> {
  const address =
    svc.role === 'postgres' ? instances.find((i) => i.service === svc.name && i.url)?.url : undefined;
  const found = address ? await findSqlTestData(address, run).catch(() => []) : [];
  const none: ServiceTestData = { service: svc.name, via: 'none', records: {}, note: NOT_DECLARED };
  if (found.length === 0) return none;
  const where = found
    .map((f) => `${f.table}.${f.column} (${f.rows} row${f.rows === 1 ? '' : 's'})`)
    .join(', ');
  const entries = JSON.stringify(found.map(({ table, column }) => ({ table, column })));
  const note = `not cleaned: realstack.json declares no "sqlCleanup" for it, and test names are in ${where}. To have cleanup delete those rows, add to its entry in realstack.json: "sqlCleanup": ${entries} (the referring tables first)${
    engine.stack.services.some((s) => s.testData)
      ? `, or "sqlCleanup": [] where a service's test-data API deletes them`
      : ''
  }`;
  return { ...none, note, found: found.reduce((n, f) => n + f.rows, 0) };
}

/** One run's data, or all test data: said explicitly, since a service must never guess "all". */
const scope = (run: string | undefined): { run: string } | { all: true } => (run ? { run } : { all: true });

async function call(
  svc: ServiceSpec,
  base: string,
  action: 'list' | 'delete',
  env: NodeJS.ProcessEnv,
  body: { run: string; subjects: string[] } | { all: true; subjects: string[] },
): Promise<Record<string, unknown> | undefined> {
  const api = svc.testData as NonNullable<ServiceSpec['testData']>;
  const target = new URL(`${api.path.replace(/\/$/, '')}/${action}`, base);
  let res: Awaited<ReturnType<typeof request>>;
  try {
    res = await request(target, {
      method: 'POST',
      headers: { authorization: `Bearer ${token(svc, env)}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
      headersTimeout: 30_000,
    });
  } catch (err) {
    throw new UserError(
      `${svc.name} at ${base} does not answer (${(err as Error).message}): is the stack up? \`npx realstack ps\` shows it.`,
    );
  }
  const text = await res.body.text();
  if (res.statusCode === 404) return undefined;
  if (res.statusCode === 401) {
    throw new UserError(
      `${svc.name} refused ${svc.testData?.tokenVariable}: it is not the value this stack started with. Use the stack's, or restart it (\`npx realstack down && npx realstack up\`).`,
    );
  }
  if (res.statusCode !== 200)
    throw new UserError(
      `${svc.name}: ${action} of test data at ${target.pathname} answered ${res.statusCode}: ${text.slice(0, 300)}`,
    );
  return JSON.parse(text) as Record<string, unknown>;
}

/**
 * Lists each service's test data (TEST names, or one run's): through the test-data API of the
 * services that declare one, by SQL for PostgreSQL services with `sqlCleanup`; the others are
 * named as not looked at. Services are asked in compose order, and an API may name subjects
 * (e.g. the auth service's test users) that later services own data for.
 */
export async function listTestData(
  engine: Engine,
  env: NodeJS.ProcessEnv,
  run?: string,
): Promise<{ services: ServiceTestData[]; subjects: string[] }> {
  const instances = await engine.instances();
  const subjects: string[] = [];
  const services: ServiceTestData[] = [];
  for (const svc of engine.stack.services) {
    if (svc.testData) {
      const answer = await call(svc, url(instances, svc), 'list', env, { ...scope(run), subjects });
      if (!answer) {
        services.push({
          service: svc.name,
          via: 'none',
          records: {},
          note: `not looked at: ${svc.testData.path}/list answered 404; is the test-data API at another path?`,
        });
        continue;
      }
      services.push({
        service: svc.name,
        via: 'api',
        records: answer.records as Record<string, TestRecord[]>,
      });
      subjects.push(...((answer.subjects as string[] | undefined) ?? []));
    } else if (svc.sqlCleanup) {
      // An empty list says there is nothing of the tests' here (its data is other services').
      if (svc.sqlCleanup.length > 0)
        services.push({
          service: svc.name,
          via: 'sql',
          records: await listSqlTestData(svc, url(instances, svc), run),
        });
    } else {
      services.push(await undeclared(engine, svc, instances, run));
    }
  }
  return { services, subjects };
}

/**
 * Deletes it: the services that hold data of others' subjects first (reverse compose order),
 * so that a subject is forgotten only after everything it owned is gone.
 */
export async function deleteTestData(
  engine: Engine,
  env: NodeJS.ProcessEnv,
  run?: string,
): Promise<{ service: string; removed: Record<string, number> }[]> {
  const { services, subjects } = await listTestData(engine, env, run);
  const instances = await engine.instances();
  const removed: { service: string; removed: Record<string, number> }[] = [];
  for (const data of [...services].reverse()) {
    const svc = engine.stack.services.find((s) => s.name === data.service) as ServiceSpec;
    if (data.via === 'api') {
      const answer = await call(svc, url(instances, svc), 'delete', env, {
        ...scope(run),
        subjects,
      });
      removed.push({ service: svc.name, removed: (answer?.removed as Record<string, number>) ?? {} });
    } else if (data.via === 'sql') {
      removed.push({ service: svc.name, removed: await deleteSqlTestData(svc, url(instances, svc), run) });
    }
  }
  return removed.reverse();
}

export const recordCount = (data: ServiceTestData[]) =>
  data.reduce((n, s) => n + Object.values(s.records).reduce((m, list) => m + list.length, 0), 0);
