import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type pg from 'pg';
import { adminGuard } from './admin-guard.js';
import { transaction } from './db.js';
import { jsonError } from './errors.js';

/**
 * Which test data a cleanup means: everything named "TEST ..." or only one run's
 * ("TEST <run> ..."), plus whatever the principals in `subjects` (test users another service
 * named) created, so that a record renamed during a test is still found.
 */
export interface TestScope {
  /** "TEST " or "TEST <run> ": compare with `starts_with(name, prefix)`. */
  prefix: string;
  subjects: string[];
}

/** One kind of record as `just test-cleanup-show` lists it. */
export interface TestRecord {
  id: string;
  name: string;
  /** Dependent records that go with it (tokens of a client, objects of an organisation). */
  detail?: Record<string, number>;
}

export interface TestDataHandlers {
  list(
    db: pg.PoolClient,
    scope: TestScope,
  ): Promise<{ records: Record<string, TestRecord[]>; subjects: string[] }>;
  remove(db: pg.PoolClient, scope: TestScope): Promise<Record<string, number>>;
}

/**
 * One run's data (`run`), or every run's (`all: true`): never a guess. A body that says neither,
 * or says anything else, is a 400: an empty or misunderstood filter must not mean "everything".
 */
const body = {
  type: 'object',
  properties: {
    run: { type: 'string', pattern: '^[A-Za-z0-9_-]{1,64}$' },
    all: { const: true },
    subjects: { type: 'array', maxItems: 10000, items: { type: 'string', minLength: 1, maxLength: 200 } },
  },
  additionalProperties: false,
} as const;

interface Body {
  run?: string;
  all?: true;
  subjects?: string[];
}

const scopeOf = (b: Body): TestScope => ({
  prefix: b.run ? `TEST ${b.run} ` : 'TEST ',
  subjects: b.subjects ?? [],
});

/**
 * The test-data protocol every service of the stack speaks to `realstack cleanup`, behind the
 * admin token: POST /admin/test-data/list and /admin/test-data/delete with `{run | all: true, subjects?}`.
 * Cleaning up is cross-tenant by nature, so it runs as the database owner; deleting runs in one
 * transaction, so a failure removes nothing.
 */
export function testDataRoutes(
  app: FastifyInstance,
  pool: pg.Pool,
  adminToken: string,
  service: string,
  handlers: TestDataHandlers,
): void {
  const allowed = adminGuard(adminToken);
  // The token first, before the body is read: a caller without it learns nothing of the protocol.
  const schema = { hide: true, body };
  const onRequest = async (request: FastifyRequest, reply: FastifyReply) => {
    if (!allowed(request, reply)) return reply;
  };
  /** Which data, or a 400 that says how to name it. */
  const scope = (b: Body, reply: FastifyReply): TestScope | undefined => {
    if (Boolean(b.run) === Boolean(b.all)) {
      jsonError(
        reply,
        400,
        'invalid_request',
        'name the test data: {"run": "<run id>"} for one run, or {"all": true} for every run',
      );
      return undefined;
    }
    return scopeOf(b);
  };
  app.post<{ Body: Body }>('/admin/test-data/list', { schema, onRequest }, async (request, reply) => {
    const s = scope(request.body, reply);
    if (!s) return reply;
    // One transaction: the records and their counts are one consistent picture.
    return { service, ...(await transaction(pool, (db) => handlers.list(db, s))) };
  });
  app.post<{ Body: Body }>('/admin/test-data/delete', { schema, onRequest }, async (request, reply) => {
    const s = scope(request.body, reply);
    if (!s) return reply;
    const removed = await transaction(pool, (db) => handlers.remove(db, s));
    return { service, removed };
  });
}
