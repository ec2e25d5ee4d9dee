import type { FastifyInstance, FastifyReply } from 'fastify';
import type pg from 'pg';
import { jsonError } from '../../kit/src/index.js';
import type { ActiveOrganisationCache } from './active-cache.js';
import { resolveActive } from './active-organisation.js';
import type { RouteOptions } from './organisations.js';
import * as schema from './schemas.js';
import { afterCommit, asTenant, audit, caller, type Db, likeTerm, pageOf } from './tenant-db.js';

interface Paging {
  limit: number;
  offset: number;
  name?: string;
}

interface NewObject {
  name: string;
  register: string;
  schema: string;
  data: Record<string, unknown>;
}

const OBJECT_COLUMNS =
  'id, organisation_id, register_id AS register, schema_id AS schema, name, data, created_by, created_at, updated_at';
const BULK_MAX = 100;

/**
 * Registers, schemas and objects (tenancy-scenarios.md area 5). They live in the caller's active
 * organisation: created there, listed and read there, and another organisation's entity is a
 * 404 like a missing one. Row-level security and the composite foreign keys of 003_entities hold
 * the same line underneath.
 */
export function entities(
  app: FastifyInstance,
  pool: pg.Pool,
  cache: ActiveOrganisationCache,
  { read, write }: RouteOptions,
): void {
  const notFound = (reply: FastifyReply, what: string, id: string) =>
    jsonError(reply, 404, 'not_found', `no ${what} ${id} in your active organisation`);

  /**
   * `fn` in a tenant transaction, with the caller's active organisation id and, in the default
   * organisation, `only`: the caller, whose own entities are all they see there. Everybody
   * lands in the default organisation, so it is no team: nobody reads or deletes another's
   * registers, schemas or objects in it (row-level security holds the same line, 004_default_private).
   */
  const inActive = <T>(me: string, fn: (db: Db, org: string, only: string | null) => Promise<T>) => {
    const mark = cache.mark();
    return asTenant(pool, me, async (db) => {
      const org = await resolveActive(db, cache, me, mark);
      return fn(db, org.id as string, org.is_default ? me : null);
    });
  };

  /** Registers and schemas: the same routes for two tables. */
  for (const [table, kind] of [
    ['registers', 'register'],
    ['schemas', 'schema'],
  ] as const) {
    const tags = [table];
    const path = `/v1/${table}`;
    const COLUMNS = 'id, organisation_id, name, description, created_by, created_at, updated_at';

    app.get<{ Querystring: Paging }>(
      path,
      {
        preHandler: read,
        schema: {
          tags,
          summary: `The ${table} of the active organisation, by name; \`name\` searches`,
          querystring: schema.searchPaging,
          response: { 200: schema.page(schema.namedEntity), ...schema.errors(400, 401, 403) },
        },
      },
      async (request) => {
        const { limit, offset, name } = request.query;
        return inActive(caller(request), async (db, org, only) => {
          return pageOf(db, {
            columns: COLUMNS,
            from: `FROM api.${table} WHERE organisation_id = $1 AND ($2::text IS NULL OR name ILIKE $2)
                   AND ($3::text IS NULL OR created_by = $3)`,
            args: [org, likeTerm(name), only],
            orderBy: 'name, id',
            limit,
            offset,
          });
        });
      },
    );

    app.post<{ Body: { name: string; description?: string } }>(
      path,
      {
        preHandler: write,
        schema: {
          tags,
          summary: `Create a ${kind} in the active organisation`,
          body: {
            type: 'object',
            properties: { name: schema.name, description: schema.description },
            required: ['name'],
            additionalProperties: false,
          },
          response: { 201: schema.namedEntity, ...schema.errors(400, 401, 403) },
        },
      },
      async (request, reply) => {
        const me = caller(request);
        const created = await inActive(me, async (db, org) => {
          const res = await db.query(
            `INSERT INTO api.${table} (organisation_id, name, description, created_by) VALUES ($1, $2, $3, $4)
             RETURNING ${COLUMNS}`,
            [org, request.body.name, request.body.description ?? '', me],
          );
          await audit(db, org, me, `${kind}.created`, { id: res.rows[0].id, name: request.body.name });
          return res.rows[0];
        });
        return reply.code(201).send(created);
      },
    );

    app.get<{ Params: { id: string } }>(
      `${path}/:id`,
      {
        preHandler: read,
        schema: {
          tags,
          summary: `One ${kind} of the active organisation`,
          params: schema.idParams,
          response: { 200: schema.namedEntity, ...schema.errors(400, 401, 403, 404) },
        },
      },
      async (request, reply) => {
        const row = await inActive(caller(request), async (db, org, only) => {
          const res = await db.query(
            `SELECT ${COLUMNS} FROM api.${table} WHERE id = $1 AND organisation_id = $2 AND ($3::text IS NULL OR created_by = $3)`,
            [request.params.id, org, only],
          );
          return res.rows[0];
        });
        return row ?? notFound(reply, kind, request.params.id);
      },
    );

    app.delete<{ Params: { id: string } }>(
      `${path}/:id`,
      {
        preHandler: write,
        schema: {
          tags,
          summary: `Delete a ${kind} no object uses (owner or admin)`,
          params: schema.idParams,
          response: { 204: { type: 'null' }, ...schema.errors(400, 401, 403, 404, 409) },
        },
      },
      async (request, reply) => {
        const me = caller(request);
        return inActive(me, async (db, org, only) => {
          const role = await db.query<{ role: string }>(
            'SELECT role FROM api.memberships WHERE organisation_id = $1 AND user_sub = $2',
            [org, me],
          );
          const exists = await db.query(
            `SELECT 1 FROM api.${table} WHERE id = $1 AND organisation_id = $2 AND ($3::text IS NULL OR created_by = $3)`,
            [request.params.id, org, only],
          );
          if (!exists.rowCount) return notFound(reply, kind, request.params.id);
          // In the default organisation everyone is a member, and deletes what is their own.
          if (role.rows[0]?.role === 'member' && !only) {
            return jsonError(reply, 403, 'forbidden', `only an owner or an admin deletes a ${kind}`);
          }
          const used = await db.query(`SELECT 1 FROM api.objects WHERE ${kind}_id = $1 LIMIT 1`, [
            request.params.id,
          ]);
          if (used.rowCount)
            return jsonError(reply, 409, 'conflict', `objects use this ${kind}; delete them first`);
          await audit(db, org, me, `${kind}.deleted`, { id: request.params.id });
          await db.query(`DELETE FROM api.${table} WHERE id = $1`, [request.params.id]);
          return undefined;
        }).then(afterCommit(reply, 204));
      },
    );
  }

  const tags = ['objects'];

  /** Objects to insert, once their register and schema are known in `org`; else the missing one. */
  async function insertObjects(db: Db, org: string, only: string | null, me: string, items: NewObject[]) {
    const registers = [...new Set(items.map((i) => i.register))];
    const schemas = [...new Set(items.map((i) => i.schema))];
    const known = await db.query<{ kind: string; id: string }>(
      `SELECT 'register' AS kind, id FROM api.registers WHERE organisation_id = $1 AND id = ANY($2::uuid[])
         AND ($4::text IS NULL OR created_by = $4)
       UNION ALL SELECT 'schema', id FROM api.schemas WHERE organisation_id = $1 AND id = ANY($3::uuid[])
         AND ($4::text IS NULL OR created_by = $4)`,
      [org, registers, schemas, only],
    );
    const has = new Set(known.rows.map((r) => `${r.kind}:${r.id}`));
    const register = registers.find((id) => !has.has(`register:${id}`));
    if (register) return { missing: `register ${register}` };
    const schemaId = schemas.find((id) => !has.has(`schema:${id}`));
    if (schemaId) return { missing: `schema ${schemaId}` };
    const res = await db.query(
      `INSERT INTO api.objects (organisation_id, register_id, schema_id, name, data, created_by)
       SELECT $1, i.register, i.schema, i.name, i.data, $2
       FROM jsonb_to_recordset($3::jsonb) AS i(register uuid, schema uuid, name text, data jsonb)
       RETURNING ${OBJECT_COLUMNS}`,
      [org, me, JSON.stringify(items)],
    );
    await audit(db, org, me, items.length === 1 ? 'object.created' : 'objects.created', {
      ids: res.rows.map((r) => r.id),
    });
    return { rows: res.rows };
  }

  app.get<{ Querystring: Paging & { register?: string; schema?: string } }>(
    '/v1/objects',
    {
      preHandler: read,
      schema: {
        tags,
        summary: 'Objects of the active organisation, by name; filter by register, schema, `name`',
        querystring: {
          ...schema.searchPaging,
          properties: {
            ...schema.searchPaging.properties,
            register: { type: 'string', format: 'uuid' },
            schema: { type: 'string', format: 'uuid' },
          },
        },
        response: { 200: schema.page(schema.object), ...schema.errors(400, 401, 403) },
      },
    },
    async (request) => {
      const { limit, offset, name, register, schema: schemaId } = request.query;
      return inActive(caller(request), async (db, org, only) => {
        return pageOf(db, {
          columns: OBJECT_COLUMNS,
          from: `FROM api.objects WHERE organisation_id = $1 AND ($2::text IS NULL OR name ILIKE $2)
                 AND ($3::uuid IS NULL OR register_id = $3) AND ($4::uuid IS NULL OR schema_id = $4)
                 AND ($5::text IS NULL OR created_by = $5)`,
          args: [org, likeTerm(name), register ?? null, schemaId ?? null, only],
          orderBy: 'name, id',
          limit,
          offset,
        });
      });
    },
  );

  app.post<{ Body: NewObject }>(
    '/v1/objects',
    {
      preHandler: write,
      schema: {
        tags,
        summary: "Create an object of one of the active organisation's registers and schemas",
        body: schema.newObject,
        response: { 201: schema.object, ...schema.errors(400, 401, 403, 404) },
      },
    },
    async (request, reply) => {
      const me = caller(request);
      const out = await inActive(me, (db, org, only) => insertObjects(db, org, only, me, [request.body]));
      if ('missing' in out)
        return jsonError(reply, 404, 'not_found', `no ${out.missing} in your active organisation`);
      return reply.code(201).send(out.rows[0]);
    },
  );

  app.post<{ Body: { items: NewObject[] } }>(
    '/v1/objects/bulk',
    {
      preHandler: write,
      schema: {
        tags,
        summary: `Create up to ${BULK_MAX} objects at once: all of them, in the active organisation, or none`,
        body: {
          type: 'object',
          properties: { items: { type: 'array', items: schema.newObject, minItems: 1, maxItems: BULK_MAX } },
          required: ['items'],
          additionalProperties: false,
        },
        response: {
          201: {
            type: 'object',
            properties: { items: { type: 'array', items: schema.object } },
            required: ['items'],
          },
          ...schema.errors(400, 401, 403, 404),
        },
      },
    },
    async (request, reply) => {
      const me = caller(request);
      const out = await inActive(me, (db, org, only) => insertObjects(db, org, only, me, request.body.items));
      if ('missing' in out)
        return jsonError(reply, 404, 'not_found', `no ${out.missing} in your active organisation`);
      return reply.code(201).send({ items: out.rows });
    },
  );

  app.get<{ Params: { id: string } }>(
    '/v1/objects/:id',
    {
      preHandler: read,
      schema: {
        tags,
        summary: 'One object of the active organisation',
        params: schema.idParams,
        response: { 200: schema.object, ...schema.errors(400, 401, 403, 404) },
      },
    },
    async (request, reply) => {
      const row = await inActive(caller(request), async (db, org, only) => {
        const res = await db.query(
          `SELECT ${OBJECT_COLUMNS} FROM api.objects WHERE id = $1 AND organisation_id = $2 AND ($3::text IS NULL OR created_by = $3)`,
          [request.params.id, org, only],
        );
        return res.rows[0];
      });
      return row ?? notFound(reply, 'object', request.params.id);
    },
  );

  app.delete<{ Params: { id: string } }>(
    '/v1/objects/:id',
    {
      preHandler: write,
      schema: {
        tags,
        summary: 'Delete an object of the active organisation',
        params: schema.idParams,
        response: { 204: { type: 'null' }, ...schema.errors(400, 401, 403, 404) },
      },
    },
    async (request, reply) => {
      const me = caller(request);
      return inActive(me, async (db, org, only) => {
        const res = await db.query(
          `DELETE FROM api.objects WHERE id = $1 AND organisation_id = $2 AND ($3::text IS NULL OR created_by = $3)`,
          [request.params.id, org, only],
        );
        if (!res.rowCount) return notFound(reply, 'object', request.params.id);
        await audit(db, org, me, 'object.deleted', { id: request.params.id });
        return undefined;
      }).then(afterCommit(reply, 204));
    },
  );
}
