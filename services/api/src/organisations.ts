import type { FastifyInstance, FastifyReply, preHandlerAsyncHookHandler } from 'fastify';
import type pg from 'pg';
import { jsonError } from '../../kit/src/index.js';
import { deprovision } from './deprovision.js';
import * as schema from './schemas.js';
import { afterCommit, asTenant, audit, caller, type Db, likeTerm, pageOf } from './tenant-db.js';

type Role = 'owner' | 'admin' | 'member';

export interface RouteOptions {
  read: preHandlerAsyncHookHandler;
  write: preHandlerAsyncHookHandler;
}

/** Whether the authorization server has a user of this id (known-users.ts). */
export type IsUser = (id: string) => Promise<boolean>;

interface Paging {
  limit: number;
  offset: number;
}

const ORG_COLUMNS = 'o.id, o.name, o.description, o.owner, o.is_default, o.created_at, o.updated_at';

/** A missing organisation and another tenant's answer alike: nothing to learn from the difference. */
export const notFound = (reply: FastifyReply, id: string) =>
  jsonError(reply, 404, 'not_found', `no organisation ${id}`);
const forbidden = (reply: FastifyReply, why: string) => jsonError(reply, 403, 'forbidden', why);
const conflict = (reply: FastifyReply, why: string) => jsonError(reply, 409, 'conflict', why);

async function roleIn(db: Db, sub: string, organisationId: string): Promise<Role | undefined> {
  const res = await db.query<{ role: Role }>(
    'SELECT role FROM api.memberships WHERE organisation_id = $1 AND user_sub = $2',
    [organisationId, sub],
  );
  return res.rows[0]?.role;
}

/**
 * In the default organisation, where every user lands, a member sees only themselves: this is
 * the caller there, and null elsewhere (row-level security holds the same line, 004_default_private).
 */
async function onlyMeIn(db: Db, id: string, me: string): Promise<string | null> {
  const res = await db.query<{ is_default: boolean }>(
    'SELECT is_default FROM api.organisations WHERE id = $1',
    [id],
  );
  return res.rows[0]?.is_default ? me : null;
}

export async function organisationOf(db: Db, sub: string, id: string) {
  const res = await db.query(
    `SELECT ${ORG_COLUMNS}, m.role FROM api.organisations o
     JOIN api.memberships m ON m.organisation_id = o.id AND m.user_sub = $1 WHERE o.id = $2`,
    [sub, id],
  );
  return res.rows[0];
}

/**
 * Organisations and their members. Every query names the caller (the application's scoping)
 * and runs under row-level security as the caller (the database's), see tenant-db.ts.
 */
export function organisations(
  app: FastifyInstance,
  pool: pg.Pool,
  { read, write }: RouteOptions,
  isUser: IsUser,
): void {
  const tags = ['organisations'];

  app.get<{ Querystring: Paging & { name?: string } }>(
    '/v1/organisations',
    {
      preHandler: read,
      schema: {
        tags,
        summary: "The caller's organisations, by name; `name` searches (case-insensitive substring)",
        querystring: {
          ...schema.paging,
          properties: { ...schema.paging.properties, name: { type: 'string', maxLength: schema.NAME_MAX } },
        },
        response: { 200: schema.page(schema.organisation), ...schema.errors(400, 401, 403) },
      },
    },
    async (request) => {
      const { limit, offset, name } = request.query;
      const me = caller(request);
      return asTenant(pool, me, (db) =>
        pageOf(db, {
          columns: `${ORG_COLUMNS}, m.role`,
          from: `FROM api.organisations o JOIN api.memberships m ON m.organisation_id = o.id AND m.user_sub = $1
                 WHERE ($2::text IS NULL OR o.name ILIKE $2)`,
          args: [me, likeTerm(name)],
          orderBy: 'o.name, o.id',
          limit,
          offset,
        }),
      );
    },
  );

  app.post<{ Body: { name: string; description?: string } }>(
    '/v1/organisations',
    {
      preHandler: write,
      schema: {
        tags,
        summary: 'Create an organisation; the caller becomes its owner and a member',
        body: {
          type: 'object',
          properties: { name: schema.name, description: schema.description },
          required: ['name'],
          additionalProperties: false,
        },
        response: { 201: schema.organisation, ...schema.errors(400, 401, 403) },
      },
    },
    async (request, reply) => {
      const me = caller(request);
      const created = await asTenant(pool, me, async (db) => {
        const id = (await db.query<{ id: string }>('SELECT gen_random_uuid() AS id')).rows[0]?.id as string;
        await db.query(
          'INSERT INTO api.organisations (id, name, description, owner) VALUES ($1, $2, $3, $4)',
          [id, request.body.name, request.body.description ?? '', me],
        );
        await db.query(
          "INSERT INTO api.memberships (organisation_id, user_sub, role) VALUES ($1, $2, 'owner')",
          [id, me],
        );
        await audit(db, id, me, 'organisation.created', { name: request.body.name });
        return organisationOf(db, me, id);
      });
      return reply.code(201).send(created);
    },
  );

  app.get<{ Params: { id: string } }>(
    '/v1/organisations/:id',
    {
      preHandler: read,
      schema: {
        tags,
        summary: 'One organisation the caller belongs to',
        params: schema.idParams,
        response: { 200: schema.organisation, ...schema.errors(400, 401, 403, 404) },
      },
    },
    async (request, reply) => {
      const org = await asTenant(pool, caller(request), (db) =>
        organisationOf(db, caller(request), request.params.id),
      );
      return org ?? notFound(reply, request.params.id);
    },
  );

  app.patch<{ Params: { id: string }; Body: { name?: string; description?: string } }>(
    '/v1/organisations/:id',
    {
      preHandler: write,
      schema: {
        tags,
        summary: 'Rename or describe an organisation (owner or admin)',
        params: schema.idParams,
        body: {
          type: 'object',
          properties: { name: schema.name, description: schema.description },
          additionalProperties: false,
          minProperties: 1,
        },
        response: { 200: schema.organisation, ...schema.errors(400, 401, 403, 404) },
      },
    },
    async (request, reply) => {
      const me = caller(request);
      const { id } = request.params;
      return asTenant(pool, me, async (db) => {
        const role = await roleIn(db, me, id);
        if (!role) return notFound(reply, id);
        if (role === 'member') return forbidden(reply, 'only an owner or an admin changes an organisation');
        await db.query(
          `UPDATE api.organisations SET name = coalesce($2, name), description = coalesce($3, description), updated_at = now()
           WHERE id = $1`,
          [id, request.body.name ?? null, request.body.description ?? null],
        );
        await audit(db, id, me, 'organisation.updated', request.body);
        return organisationOf(db, me, id);
      });
    },
  );

  app.delete<{ Params: { id: string } }>(
    '/v1/organisations/:id',
    {
      preHandler: write,
      schema: {
        tags,
        summary:
          'Deprovision an organisation (its owner only): its registers, schemas, objects and memberships go, a member with no other organisation joins the default one, the audit trail stays (export it first: GET /v1/organisations/{id}/audit)',
        params: schema.idParams,
        response: { 204: { type: 'null' }, ...schema.errors(400, 401, 403, 404, 409) },
      },
    },
    async (request, reply) => {
      const me = caller(request);
      const { id } = request.params;
      return asTenant(pool, me, async (db) => {
        const role = await roleIn(db, me, id);
        if (!role) return notFound(reply, id);
        if (role !== 'owner') return forbidden(reply, 'only the owner deletes an organisation');
        // The right is checked under row-level security; moving members reads memberships the
        // owner cannot see (in organisations they are not in), so the rest runs as the table owner.
        await db.query('RESET ROLE');
        await deprovision(db, id, me, 'graceful', false);
        return undefined;
      }).then(afterCommit(reply, 204));
    },
  );

  app.get<{ Params: { id: string }; Querystring: Paging }>(
    '/v1/organisations/:id/members',
    {
      preHandler: read,
      schema: {
        tags,
        summary: 'The members of an organisation',
        params: schema.idParams,
        querystring: schema.paging,
        response: { 200: schema.page(schema.member), ...schema.errors(400, 401, 403, 404) },
      },
    },
    async (request, reply) => {
      const me = caller(request);
      const { id } = request.params;
      const { limit, offset } = request.query;
      return asTenant(pool, me, async (db) => {
        if (!(await roleIn(db, me, id))) return notFound(reply, id);
        return pageOf(db, {
          columns: 'user_sub AS user, role, created_at',
          from: 'FROM api.memberships WHERE organisation_id = $1 AND ($2::text IS NULL OR user_sub = $2)',
          args: [id, await onlyMeIn(db, id, me)],
          orderBy: 'created_at, user_sub',
          limit,
          offset,
        });
      });
    },
  );

  app.post<{ Params: { id: string }; Body: { user: string; role: Role } }>(
    '/v1/organisations/:id/members',
    {
      preHandler: write,
      schema: {
        tags,
        summary:
          "Add a member (owner or admin; only an owner adds owners): a user of the authorization server, by their id (their tokens' sub)",
        params: schema.idParams,
        body: {
          type: 'object',
          properties: {
            user: { type: 'string', format: 'uuid' },
            role: schema.role,
          },
          required: ['user', 'role'],
          additionalProperties: false,
        },
        response: { 201: schema.member, ...schema.errors(400, 401, 403, 404, 409) },
      },
    },
    async (request, reply) => {
      const me = caller(request);
      const { id } = request.params;
      return asTenant(pool, me, async (db) => {
        const role = await roleIn(db, me, id);
        if (!role) return notFound(reply, id);
        if (role === 'member') return forbidden(reply, 'only an owner or an admin adds members');
        if (request.body.role === 'owner' && role !== 'owner')
          return forbidden(reply, 'only an owner adds owners');
        if (!(await isUser(request.body.user)))
          return jsonError(
            reply,
            400,
            'invalid_request',
            `body.user: the authorization server has no user ${request.body.user}; members are its users, named by their id (the sub of their tokens)`,
          );
        await db.query('INSERT INTO api.users (sub) VALUES ($1) ON CONFLICT DO NOTHING', [request.body.user]);
        const added = await db.query(
          `INSERT INTO api.memberships (organisation_id, user_sub, role) VALUES ($1, $2, $3)
           ON CONFLICT DO NOTHING RETURNING user_sub AS user, role, created_at`,
          [id, request.body.user, request.body.role],
        );
        if (!added.rowCount) return conflict(reply, `${request.body.user} is a member already`);
        await audit(db, id, me, 'member.added', { user: request.body.user, role: request.body.role });
        return added.rows[0];
      }).then(afterCommit(reply, 201));
    },
  );

  app.delete<{ Params: { id: string; user: string } }>(
    '/v1/organisations/:id/members/:user',
    {
      preHandler: write,
      schema: {
        tags,
        summary:
          'Leave (your own id) or remove a member (owner or admin); nobody leaves their last organisation',
        params: {
          type: 'object',
          properties: { id: { type: 'string', format: 'uuid' }, user: { type: 'string', minLength: 1 } },
          required: ['id', 'user'],
        },
        response: { 204: { type: 'null' }, ...schema.errors(400, 401, 403, 404, 409) },
      },
    },
    async (request, reply) => {
      const me = caller(request);
      const { id, user } = request.params;
      return asTenant(pool, me, async (db) => {
        const role = await roleIn(db, me, id);
        if (!role) return notFound(reply, id);
        // The caller's right first: a member may remove nobody else, whoever that is or is not.
        if (user !== me && role === 'member')
          return forbidden(reply, 'only an owner or an admin removes members');
        const target = user === me ? role : await roleIn(db, user, id);
        if (!target) return jsonError(reply, 404, 'not_found', `${user} is not a member`);
        const founder = await db.query<{ owner: string }>(
          'SELECT owner FROM api.organisations WHERE id = $1',
          [id],
        );
        if (user === founder.rows[0]?.owner) {
          return conflict(reply, 'the owner stays; delete the organisation instead');
        }
        if (user !== me && target === 'owner' && role !== 'owner')
          return forbidden(reply, 'only an owner removes an owner');
        // One user's membership changes queue here, so that two leaves at once cannot both pass the check.
        await db.query('SELECT 1 FROM api.users WHERE sub = $1 FOR UPDATE', [me]);
        if (user === me) {
          const mine = await db.query('SELECT 1 FROM api.memberships WHERE user_sub = $1', [me]);
          if ((mine.rowCount ?? 0) <= 1)
            return conflict(reply, 'this is your last organisation; you cannot leave it');
        }
        await audit(db, id, me, user === me ? 'member.left' : 'member.removed', { user });
        await db.query('DELETE FROM api.memberships WHERE organisation_id = $1 AND user_sub = $2', [
          id,
          user,
        ]);
        return undefined;
      }).then(afterCommit(reply, 204));
    },
  );

  app.get<{ Params: { id: string } }>(
    '/v1/organisations/:id/stats',
    {
      preHandler: read,
      schema: {
        tags,
        summary: 'Membership statistics',
        params: schema.idParams,
        response: {
          200: {
            type: 'object',
            properties: {
              members: { type: 'integer' },
              owners: { type: 'integer' },
              admins: { type: 'integer' },
            },
            required: ['members', 'owners', 'admins'],
          },
          ...schema.errors(400, 401, 403, 404),
        },
      },
    },
    async (request, reply) => {
      const me = caller(request);
      const { id } = request.params;
      return asTenant(pool, me, async (db) => {
        if (!(await roleIn(db, me, id))) return notFound(reply, id);
        const res = await db.query<{ members: string; owners: string; admins: string }>(
          `SELECT count(*) AS members, count(*) FILTER (WHERE role = 'owner') AS owners,
                  count(*) FILTER (WHERE role = 'admin') AS admins
           FROM api.memberships WHERE organisation_id = $1`,
          [id],
        );
        const row = res.rows[0];
        return { members: Number(row?.members), owners: Number(row?.owners), admins: Number(row?.admins) };
      });
    },
  );

  app.get<{ Params: { id: string }; Querystring: Paging }>(
    '/v1/organisations/:id/audit',
    {
      preHandler: read,
      schema: {
        tags,
        summary: 'The audit trail of an organisation, newest first',
        params: schema.idParams,
        querystring: schema.paging,
        response: { 200: schema.page(schema.auditEntry), ...schema.errors(400, 401, 403, 404) },
      },
    },
    async (request, reply) => {
      const me = caller(request);
      const { id } = request.params;
      const { limit, offset } = request.query;
      return asTenant(pool, me, async (db) => {
        if (!(await roleIn(db, me, id))) return notFound(reply, id);
        return pageOf(db, {
          columns: 'id::int, organisation_id, actor, action, detail, at',
          from: 'FROM api.audit WHERE organisation_id = $1 AND ($2::text IS NULL OR actor = $2)',
          args: [id, await onlyMeIn(db, id, me)],
          orderBy: 'id DESC',
          limit,
          offset,
        });
      });
    },
  );
}
