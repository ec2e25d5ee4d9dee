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

/**
 * What tests leave in the default organisation, which is never test data itself: registers,
 * schemas and objects named "TEST ..." or made by a test user, and the objects filed under a
 * register or schema that goes.
 */
const IN_DEFAULT = (table: 'registers' | 'schemas') => `SELECT e.id::text AS id, e.name
  FROM api.${table} e JOIN api.organisations o ON o.id = e.organisation_id
  WHERE o.is_default AND (starts_with(e.name, $1) OR e.created_by = ANY($2::text[]))
  ORDER BY e.name, e.id`;
const OBJECTS_IN_DEFAULT = `SELECT x.id::text AS id, x.name
  FROM api.objects x JOIN api.organisations o ON o.id = x.organisation_id
  WHERE o.is_default AND (starts_with(x.name, $1) OR x.created_by = ANY($2::text[])
    OR x.register_id IN (SELECT id::uuid FROM (${IN_DEFAULT('registers')}) r)
    OR x.schema_id IN (SELECT id::uuid FROM (${IN_DEFAULT('schemas')}) s))
  ORDER BY x.name, x.id`;

export function testData(app: FastifyInstance, pool: pg.Pool, adminToken: string): void {
  testDataRoutes(app, pool, adminToken, 'api', {
    async list(db, scope) {
      const orgs = await db.query(ORGANISATIONS, [scope.prefix, scope.subjects]);
      const users = await db.query(
        `SELECT u.sub AS id, (SELECT count(*) FROM api.memberships m WHERE m.user_sub = u.sub)::int AS memberships
         FROM api.users u WHERE ${TEST_USER} ORDER BY u.sub`,
        [scope.prefix, scope.subjects],
      );
      const args = [scope.prefix, scope.subjects];
      return {
        records: {
          organisations: orgs.rows.map(({ id, name, ...detail }) => ({ id, name, detail })),
          users: users.rows.map((r) => ({ id: r.id, name: r.id, detail: { memberships: r.memberships } })),
          'registers in the default organisation': (await db.query(IN_DEFAULT('registers'), args)).rows,
          'schemas in the default organisation': (await db.query(IN_DEFAULT('schemas'), args)).rows,
          'objects in the default organisation': (await db.query(OBJECTS_IN_DEFAULT, args)).rows,
        },
        subjects: [],
      };
    },
    async remove(db, scope) {
      const args = [scope.prefix, scope.subjects];
      // Counted before the delete: registers, schemas, objects and memberships go with their
      // organisation (ON DELETE CASCADE), and counting after it finds nothing.
      const orgs = await db.query<{ id: string; objects: number }>(ORGANISATIONS, args);
      const ids = orgs.rows.map((r) => r.id);
      await db.query('DELETE FROM api.organisations WHERE id = ANY($1::uuid[])', [ids]);
      await db.query('DELETE FROM api.audit WHERE organisation_id = ANY($1::uuid[])', [ids]);
      // In the default organisation: objects first, they reference registers and schemas.
      const objects = await db.query(
        `DELETE FROM api.objects WHERE id IN (SELECT id::uuid FROM (${OBJECTS_IN_DEFAULT}) x)`,
        args,
      );
      const registers = await db.query(
        `DELETE FROM api.registers WHERE id IN (SELECT id::uuid FROM (${IN_DEFAULT('registers')}) r)`,
        args,
      );
      const schemas = await db.query(
        `DELETE FROM api.schemas WHERE id IN (SELECT id::uuid FROM (${IN_DEFAULT('schemas')}) s)`,
        args,
      );
      const users = await db.query(`DELETE FROM api.users u WHERE ${TEST_USER}`, args);
      return {
        organisations: ids.length,
        objects: orgs.rows.reduce((n, r) => n + r.objects, 0) + (objects.rowCount ?? 0),
        'registers in the default organisation': registers.rowCount ?? 0,
        'schemas in the default organisation': schemas.rowCount ?? 0,
        users: users.rowCount ?? 0,
      };
    },
  });
}
