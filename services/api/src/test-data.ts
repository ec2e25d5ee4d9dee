import type { FastifyInstance } from 'fastify';
import type pg from 'pg';
import { testDataRoutes } from '../../kit/src/index.js';

/**
 * The api's test data: organisations named "TEST ..." or owned by a test user (so a renamed
 * one is still found), with everything in them, and the test users' own records (memberships,
 * active organisation), including people invited under a "TEST ..." id who never signed in.
 * The default organisation is never test data.
 */
const ORGANISATIONS = `SELECT o.id::text AS id, o.name,
    (SELECT count(*) FROM api.memberships m WHERE m.organisation_id = o.id)::int AS members,
    (SELECT count(*) FROM api.registers r WHERE r.organisation_id = o.id)::int AS registers,
    (SELECT count(*) FROM api.schemas s WHERE s.organisation_id = o.id)::int AS schemas,
    (SELECT count(*) FROM api.objects x WHERE x.organisation_id = o.id)::int AS objects
  FROM api.organisations o
  WHERE NOT o.is_default AND (starts_with(o.name, $1) OR o.owner = ANY($2::text[]))
  ORDER BY o.name, o.id`;

// A test user: one the auth service named, or one invited by a test under a "TEST ..." id.
const TEST_USER = 'u.sub = ANY($2::text[]) OR starts_with(u.sub, $1)';

export function testData(app: FastifyInstance, pool: pg.Pool, adminToken: string): void {
  testDataRoutes(app, pool, adminToken, 'api', {
    async list(db, scope) {
      const orgs = await db.query(ORGANISATIONS, [scope.prefix, scope.subjects]);
      const users = await db.query(
        `SELECT u.sub AS id, (SELECT count(*) FROM api.memberships m WHERE m.user_sub = u.sub)::int AS memberships
         FROM api.users u WHERE ${TEST_USER} ORDER BY u.sub`,
        [scope.prefix, scope.subjects],
      );
      return {
        records: {
          organisations: orgs.rows.map(({ id, name, ...detail }) => ({ id, name, detail })),
          users: users.rows.map((r) => ({ id: r.id, name: r.id, detail: { memberships: r.memberships } })),
        },
        subjects: [],
      };
    },
    async remove(db, scope) {
      // Registers, schemas, objects and memberships go with their organisation (ON DELETE CASCADE).
      const orgs = await db.query<{ id: string; objects: number }>(
        `DELETE FROM api.organisations WHERE id IN (SELECT id::uuid FROM (${ORGANISATIONS}) o)
         RETURNING id, (SELECT count(*) FROM api.objects x WHERE x.organisation_id = id)::int AS objects`,
        [scope.prefix, scope.subjects],
      );
      const ids = orgs.rows.map((r) => r.id);
      await db.query('DELETE FROM api.audit WHERE organisation_id = ANY($1::uuid[])', [ids]);
      const users = await db.query(`DELETE FROM api.users u WHERE ${TEST_USER}`, [
        scope.prefix,
        scope.subjects,
      ]);
      return {
        organisations: orgs.rowCount ?? 0,
        objects: orgs.rows.reduce((n, r) => n + r.objects, 0),
        users: users.rowCount ?? 0,
      };
    },
  });
}
