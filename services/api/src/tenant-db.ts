import type pg from 'pg';
import { transaction } from '../../kit/src/index.js';

export type Db = pg.PoolClient;

/**
 * Runs `fn` in one transaction as the caller: first the caller's first visit is recorded (a new
 * user who belongs nowhere yet joins the default organisation; one invited before their first
 * visit stays where they were invited), then the transaction drops to the api_tenant role with
 * the caller's id set, so row-level security applies to every query `fn` makes, whatever its
 * own WHERE clauses say.
 */
export function asTenant<T>(pool: pg.Pool, sub: string, fn: (db: Db) => Promise<T>): Promise<T> {
  return transaction(pool, async (db) => {
    const first = await db.query(
      `INSERT INTO api.users (sub, first_seen) VALUES ($1, now())
       ON CONFLICT (sub) DO UPDATE SET first_seen = now() WHERE users.first_seen IS NULL
       RETURNING sub`,
      [sub],
    );
    if (first.rowCount) {
      await db.query(
        `INSERT INTO api.memberships (organisation_id, user_sub, role)
         SELECT id, $1, 'member' FROM api.organisations
         WHERE is_default AND NOT EXISTS (SELECT 1 FROM api.memberships WHERE user_sub = $1)`,
        [sub],
      );
    }
    await db.query("SELECT set_config('app.user_sub', $1, true)", [sub]);
    await db.query('SET LOCAL ROLE api_tenant');
    return fn(db);
  });
}

/** One audit entry, in the organisation it concerns, in the same transaction as the change. */
export async function audit(
  db: Db,
  organisationId: string,
  actor: string,
  action: string,
  detail: object = {},
) {
  await db.query('INSERT INTO api.audit (organisation_id, actor, action, detail) VALUES ($1, $2, $3, $4)', [
    organisationId,
    actor,
    action,
    detail,
  ]);
}
