import type { FastifyInstance } from 'fastify';
import type pg from 'pg';
import { type TestScope, testDataRoutes } from '../../kit/src/index.js';

/**
 * auth's test data: clients named "TEST ..." or registered with software_id "TEST <run>" (which
 * a client cannot change, so a renamed test client is still found), users named "TEST_..."
 * (a username has no spaces), and the tokens of both. The users' ids go back to the cleanup as
 * subjects: the api knows people only by that id.
 */
const CLIENTS = `SELECT c.client_id AS id, coalesce(c.metadata->>'client_name', '') AS name,
    (SELECT count(*) FROM auth.access_tokens a JOIN auth.grants g ON g.id = a.grant_id WHERE g.client_id = c.client_id)::int AS access_tokens,
    (SELECT count(*) FROM auth.refresh_tokens r JOIN auth.grants g ON g.id = r.grant_id WHERE g.client_id = c.client_id)::int AS refresh_tokens
  FROM auth.clients c
  WHERE starts_with(coalesce(c.metadata->>'client_name', ''), $1)
     OR starts_with(coalesce(c.metadata->>'software_id', '') || ' ', $1)
  ORDER BY name, id`;

const USERS = `SELECT u.id::text AS id, u.username AS name,
    (SELECT count(*) FROM auth.grants g WHERE g.user_id = u.id)::int AS grants
  FROM auth.users u WHERE starts_with(u.username, $1) ORDER BY u.username`;

// Usernames carry the prefix with "_" for " ": "TEST_<run>_...".
const usernamePrefix = (scope: TestScope) => scope.prefix.replaceAll(' ', '_');

export function testData(app: FastifyInstance, pool: pg.Pool, adminToken: string): void {
  testDataRoutes(app, pool, adminToken, 'auth', {
    async list(db, scope) {
      const clients = await db.query(CLIENTS, [scope.prefix]);
      const users = await db.query(USERS, [usernamePrefix(scope)]);
      return {
        records: {
          clients: clients.rows.map((r) => ({
            id: r.id,
            name: r.name,
            detail: { 'access tokens': r.access_tokens, 'refresh tokens': r.refresh_tokens },
          })),
          users: users.rows.map((r) => ({ id: r.id, name: r.name, detail: { grants: r.grants } })),
        },
        subjects: users.rows.map((r) => r.id as string),
      };
    },
    async remove(db, scope) {
      // Tokens go with their grants, grants with their client or user (ON DELETE CASCADE).
      const tokens = await db.query<{ n: number }>(
        `SELECT (SELECT count(*) FROM auth.access_tokens a WHERE a.grant_id = ANY(ids))
              + (SELECT count(*) FROM auth.refresh_tokens r WHERE r.grant_id = ANY(ids)) AS n
         FROM (SELECT array_agg(g.id) AS ids FROM auth.grants g
               LEFT JOIN auth.users u ON u.id = g.user_id
               WHERE g.client_id IN (SELECT id FROM (${CLIENTS}) c) OR starts_with(u.username, $2)) t`,
        [scope.prefix, usernamePrefix(scope)],
      );
      const clients = await db.query(
        `DELETE FROM auth.clients WHERE client_id IN (SELECT id FROM (${CLIENTS}) c)`,
        [scope.prefix],
      );
      const users = await db.query('DELETE FROM auth.users WHERE starts_with(username, $1)', [
        usernamePrefix(scope),
      ]);
      return {
        clients: clients.rowCount ?? 0,
        users: users.rowCount ?? 0,
        tokens: Number(tokens.rows[0]?.n ?? 0),
      };
    },
  });
}
