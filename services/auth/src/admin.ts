import type { FastifyInstance } from 'fastify';
import type pg from 'pg';
import { adminGuard, jsonError } from '../../kit/src/index.js';
import { UUID } from '../../kit/src/input.js';
import { rotateSigningKey } from './keys.js';
import type { Passwords } from './passwords.js';

const USERNAME = /^[^\s/]{1,100}$/;

/**
 * The admin API the tests (and `just test-cleanup` later) use to manage users and rotate the
 * signing key, behind the kit's adminGuard.
 */
export function admin(app: FastifyInstance, pool: pg.Pool, adminToken: string, passwords: Passwords): void {
  const allowed = adminGuard(adminToken);

  app.post('/admin/users', async (request, reply) => {
    if (!allowed(request, reply)) return reply;
    const body = request.body as { username?: unknown; password?: unknown } | undefined;
    const username = body?.username;
    const password = body?.password;
    if (typeof username !== 'string' || !USERNAME.test(username)) {
      return jsonError(
        reply,
        400,
        'invalid_request',
        'username must be 1 to 100 characters, without spaces or slashes',
      );
    }
    if (typeof password !== 'string' || password.length < 8 || password.length > 1000) {
      return jsonError(reply, 400, 'invalid_request', 'password must be 8 to 1000 characters');
    }
    const res = await pool.query<{ id: string; created_at: Date }>(
      `INSERT INTO auth.users (username, password_hash) VALUES ($1, $2)
       ON CONFLICT (username) DO NOTHING RETURNING id, created_at`,
      [username, await passwords.hash(password)],
    );
    const row = res.rows[0];
    if (!row) return jsonError(reply, 409, 'user_exists', `a user "${username}" exists already`);
    // The id is the `sub` of the user's tokens: what the api knows them by (e.g. to invite them).
    return reply.code(201).send({ id: row.id, username, created_at: row.created_at.toISOString() });
  });

  // Who a user id (a token's `sub`) is: the api asks before it makes anyone a member.
  app.get<{ Querystring: { id?: string } }>('/admin/users', async (request, reply) => {
    if (!allowed(request, reply)) return reply;
    const id = request.query.id;
    if (typeof id !== 'string' || !UUID.test(id))
      return jsonError(reply, 400, 'invalid_request', 'give ?id=, a user id (the sub of their tokens)');
    const res = await pool.query<{ id: string; username: string; created_at: Date }>(
      'SELECT id, username, created_at FROM auth.users WHERE id = $1',
      [id],
    );
    const row = res.rows[0];
    if (!row) return jsonError(reply, 404, 'not_found', `no user ${id}`);
    return { id: row.id, username: row.username, created_at: row.created_at.toISOString() };
  });

  // RFC 9068 tokens keep verifying: the retired key stays in the JWKS until they expire.
  app.post('/admin/keys/rotate', async (request, reply) => {
    if (!allowed(request, reply)) return reply;
    return reply.code(201).send(await rotateSigningKey(pool));
  });

  app.delete<{ Params: { username: string } }>('/admin/users/:username', async (request, reply) => {
    if (!allowed(request, reply)) return reply;
    const res = await pool.query('DELETE FROM auth.users WHERE username = $1', [request.params.username]);
    if (res.rowCount === 0) return jsonError(reply, 404, 'not_found', `no user "${request.params.username}"`);
    return reply.code(204).send();
  });
}
