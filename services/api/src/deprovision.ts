import type { FastifyInstance } from 'fastify';
import type pg from 'pg';
import { adminGuard, jsonError, transaction } from '../../kit/src/index.js';
import * as schema from './schemas.js';
import { audit, type Db } from './tenant-db.js';

/** What a deprovisioning removed, moved and kept: the answer, and the last audit entry's detail. */
export interface Deprovisioned {
  organisation: { id: string; name: string; owner: string };
  removed: { registers: number; schemas: number; objects: number; memberships: number };
  /** Members whose only organisation it was: members of the default organisation now. */
  moved: string[];
  audit: { kept: number } | { exported: Record<string, unknown>[] };
}

/** The default organisation is where every user lands: it is never deprovisioned. */
export class DefaultOrganisation extends Error {
  readonly statusCode = 409;
  readonly errorCode = 'conflict';
  override message = 'the default organisation is where every user belongs: it is never deprovisioned';
}

/**
 * Removes an organisation and everything in it, in the caller's transaction, as the database
 * owner: the caller's right was checked before (its owner, or the admin token), and moving
 * members reads memberships the caller cannot see. Nobody is left without an organisation: a
 * member whose only one it was joins the default organisation. The audit trail outlives the
 * organisation (its last entry says what went), unless `purgeAudit`: then it is deleted and
 * returned, so the answer is its export.
 */
export async function deprovision(
  db: Db,
  id: string,
  actor: string,
  how: 'graceful' | 'forced',
  purgeAudit: boolean,
): Promise<Deprovisioned | undefined> {
  const org = (
    await db.query<{ id: string; name: string; owner: string; is_default: boolean }>(
      'SELECT id, name, owner, is_default FROM api.organisations WHERE id = $1 FOR UPDATE',
      [id],
    )
  ).rows[0];
  if (!org) return undefined;
  if (org.is_default) throw new DefaultOrganisation();
  const removed = (
    await db.query<Deprovisioned['removed']>(
      `SELECT (SELECT count(*) FROM api.registers WHERE organisation_id = $1)::int AS registers,
              (SELECT count(*) FROM api.schemas WHERE organisation_id = $1)::int AS schemas,
              (SELECT count(*) FROM api.objects WHERE organisation_id = $1)::int AS objects,
              (SELECT count(*) FROM api.memberships WHERE organisation_id = $1)::int AS memberships`,
      [id],
    )
  ).rows[0] as Deprovisioned['removed'];
  const moved = (
    await db.query<{ user_sub: string }>(
      `INSERT INTO api.memberships (organisation_id, user_sub, role)
       SELECT d.id, m.user_sub, 'member' FROM api.memberships m JOIN api.organisations d ON d.is_default
       WHERE m.organisation_id = $1
         AND NOT EXISTS (SELECT 1 FROM api.memberships x WHERE x.user_sub = m.user_sub AND x.organisation_id <> $1)
       RETURNING user_sub`,
      [id],
    )
  ).rows
    .map((r) => r.user_sub)
    .sort();
  await audit(db, id, actor, 'organisation.deprovisioned', { how, name: org.name, ...removed, moved });
  // Memberships, registers, schemas and objects go with it (ON DELETE CASCADE); a user whose
  // active organisation it was gets the next one on their next request (active-organisation.ts).
  await db.query('DELETE FROM api.organisations WHERE id = $1', [id]);
  const trail = purgeAudit
    ? {
        exported: (
          await db.query(
            'DELETE FROM api.audit WHERE organisation_id = $1 RETURNING id::int, organisation_id, actor, action, detail, at',
            [id],
          )
        ).rows.sort((a, b) => a.id - b.id),
      }
    : {
        kept: Number(
          (await db.query('SELECT count(*) FROM api.audit WHERE organisation_id = $1', [id])).rows[0]?.count,
        ),
      };
  return { organisation: { id: org.id, name: org.name, owner: org.owner }, removed, moved, audit: trail };
}

export const deprovisioned = {
  type: 'object',
  properties: {
    organisation: {
      type: 'object',
      properties: { id: { type: 'string' }, name: { type: 'string' }, owner: { type: 'string' } },
    },
    removed: {
      type: 'object',
      properties: Object.fromEntries(
        ['registers', 'schemas', 'objects', 'memberships'].map((k) => [k, { type: 'integer' }]),
      ),
    },
    moved: { type: 'array', items: { type: 'string' } },
    audit: {
      type: 'object',
      properties: { kept: { type: 'integer' }, exported: { type: 'array', items: schema.auditEntry } },
    },
  },
} as const;

/**
 * Forced deprovisioning, for the operator (the admin token): any organisation but the default,
 * whoever owns it and whatever its members. `?audit=purge` deletes the audit trail too, and
 * answers with it: afterwards no table holds anything of the organisation.
 */
export function adminDeprovisioning(app: FastifyInstance, pool: pg.Pool, adminToken: string): void {
  const allowed = adminGuard(adminToken);
  app.delete<{ Params: { id: string }; Querystring: { audit: 'keep' | 'purge' } }>(
    '/admin/organisations/:id',
    {
      onRequest: async (request, reply) => {
        if (!allowed(request, reply)) return reply;
      },
      schema: {
        hide: true,
        params: schema.idParams,
        querystring: {
          type: 'object',
          properties: { audit: { type: 'string', enum: ['keep', 'purge'], default: 'keep' } },
          additionalProperties: false,
        },
        response: { 200: deprovisioned, ...schema.errors(400, 401, 404, 409) },
      },
    },
    async (request, reply) => {
      const { id } = request.params;
      const done = await transaction(pool, (db) =>
        deprovision(db, id, 'admin', 'forced', request.query.audit === 'purge'),
      );
      return done ?? jsonError(reply, 404, 'not_found', `no organisation ${id}`);
    },
  );
}
