import type { FastifyInstance } from 'fastify';
import type pg from 'pg';
import { adminGuard, transaction } from '../../kit/src/index.js';

interface Query {
  run?: string;
}

/**
 * Test data, across tenants: organisations and users whose names start with "TEST " (or
 * "TEST <run> " for one run), listed and deleted for `just test-cleanup`. Runs as the
 * migration owner, outside row-level security, because cleaning up is cross-tenant by nature;
 * the admin token guards it.
 */
export function testDataAdmin(app: FastifyInstance, pool: pg.Pool, adminToken: string): void {
  const allowed = adminGuard(adminToken);
  const schema = {
    hide: true,
    querystring: {
      type: 'object',
      properties: { run: { type: 'string', pattern: '^[A-Za-z0-9_-]{1,64}$' } },
      additionalProperties: false,
    },
  };
  // LIKE patterns: a run id has no LIKE characters (the pattern above).
  const prefix = (q: Query) => (q.run ? `TEST ${q.run} %` : 'TEST %');

  app.get<{ Querystring: Query }>('/admin/test-data', { schema }, async (request, reply) => {
    if (!allowed(request, reply)) return reply;
    const like = prefix(request.query);
    const organisations = await pool.query(
      'SELECT id, name FROM api.organisations WHERE name LIKE $1 ORDER BY name',
      [like],
    );
    const users = await pool.query('SELECT sub FROM api.users WHERE sub LIKE $1 ORDER BY sub', [like]);
    return { organisations: organisations.rows, users: users.rows.map((r) => r.sub) };
  });

  app.delete<{ Querystring: Query }>('/admin/test-data', { schema }, async (request, reply) => {
    if (!allowed(request, reply)) return reply;
    const like = prefix(request.query);
    return transaction(pool, async (db) => {
      const orgs = await db.query<{ id: string }>(
        'DELETE FROM api.organisations WHERE name LIKE $1 AND NOT is_default RETURNING id',
        [like],
      );
      await db.query('DELETE FROM api.audit WHERE organisation_id = ANY($1::uuid[])', [
        orgs.rows.map((r) => r.id),
      ]);
      const users = await db.query('DELETE FROM api.users WHERE sub LIKE $1', [like]);
      return { organisations: orgs.rowCount, users: users.rowCount };
    });
  });
}
