import type { FastifyInstance } from 'fastify';
import type pg from 'pg';
import type { ActiveOrganisationCache } from './active-cache.js';
import { notFound, organisationOf, type RouteOptions } from './organisations.js';
import * as schema from './schemas.js';
import { asTenant, caller, type Db, ForgottenCaller } from './tenant-db.js';

async function choose(db: Db, cache: ActiveOrganisationCache, me: string, id: string) {
  await db.query('UPDATE api.users SET active_organisation = $2 WHERE sub = $1', [me, id]);
  await cache.invalidate(db, me);
}

/**
 * The caller's active organisation, chosen and stored on first use (the default membership,
 * else the oldest) and chosen again if the caller has left it. `mark` is the cache's mark taken
 * before the transaction began.
 */
export async function resolveActive(db: Db, cache: ActiveOrganisationCache, me: string, mark: number) {
  let id = cache.get(me);
  if (!id) {
    const res = await db.query<{ active_organisation: string | null }>(
      'SELECT active_organisation FROM api.users WHERE sub = $1',
      [me],
    );
    if (res.rows.length === 0) throw new ForgottenCaller(me);
    id = res.rows[0]?.active_organisation ?? undefined;
  }
  // Membership is checked every time: leaving an organisation needs no cache invalidation.
  const org = id ? await organisationOf(db, me, id) : undefined;
  if (org) {
    cache.set(me, org.id, mark);
    return org;
  }
  const next = await db.query<{ id: string }>(
    `SELECT o.id FROM api.organisations o JOIN api.memberships m ON m.organisation_id = o.id AND m.user_sub = $1
     ORDER BY o.is_default DESC, m.created_at, o.id LIMIT 1`,
    [me],
  );
  const chosen = next.rows[0]?.id;
  if (!chosen) throw new NoOrganisation();
  await choose(db, cache, me, chosen);
  return organisationOf(db, me, chosen);
}

/** The caller belongs to no organisation (they left every one): nothing to be active in. */
export class NoOrganisation extends Error {
  readonly statusCode = 409;
  readonly errorCode = 'conflict';
  override message =
    'you belong to no organisation: create one (POST /v1/organisations) or ask to be added to one';
}

/**
 * Each user's active organisation (tenancy-scenarios.md areas 4 and 7): kept in `api.users`,
 * so it outlives requests, logins and replicas, and cached per replica (active-cache.ts).
 */
export function activeOrganisation(
  app: FastifyInstance,
  pool: pg.Pool,
  cache: ActiveOrganisationCache,
  { read, write }: RouteOptions,
): void {
  const tags = ['active organisation'];

  app.get(
    '/v1/active-organisation',
    {
      preHandler: read,
      schema: {
        tags,
        summary:
          "The caller's active organisation; chosen on first read (the default one, else the first joined)",
        response: { 200: schema.organisation, ...schema.errors(401, 403) },
      },
    },
    async (request) => {
      const me = caller(request);
      const mark = cache.mark();
      return asTenant(pool, me, (db) => resolveActive(db, cache, me, mark));
    },
  );

  app.put<{ Body: { id: string } }>(
    '/v1/active-organisation',
    {
      preHandler: write,
      schema: {
        tags,
        summary: 'Set the active organisation (one the caller belongs to)',
        body: {
          type: 'object',
          properties: { id: { type: 'string', format: 'uuid' } },
          required: ['id'],
          additionalProperties: false,
        },
        response: { 200: schema.organisation, ...schema.errors(400, 401, 403, 404) },
      },
    },
    async (request, reply) => {
      const me = caller(request);
      return asTenant(pool, me, async (db) => {
        const org = await organisationOf(db, me, request.body.id);
        if (!org) return notFound(reply, request.body.id);
        await choose(db, cache, me, request.body.id);
        return org;
      });
    },
  );

  app.delete(
    '/v1/active-organisation/cache',
    {
      preHandler: read,
      schema: {
        tags,
        summary: "Forget the caller's cached active organisation on every replica (the stored choice stays)",
        response: { 204: { type: 'null' }, ...schema.errors(401, 403) },
      },
    },
    async (request, reply) => {
      const me = caller(request);
      await asTenant(pool, me, (db) => cache.invalidate(db, me));
      return reply.code(204).send();
    },
  );
}
