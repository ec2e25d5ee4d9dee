import type { FastifyReply } from 'fastify';
import type pg from 'pg';
import { transaction } from '../../kit/src/index.js';

export type Db = pg.PoolClient;

// Users whose first visit is on record (committed): their requests skip that bookkeeping write.
// Bounded, so a flood of one-off users cannot grow it without limit; forgetting costs one upsert.
const seen = new Set<string>();
const SEEN_MAX = 100_000;

/**
 * Runs `fn` in one transaction as the caller: first the caller's first visit is recorded (a new
 * user who belongs nowhere yet joins the default organisation; one invited before their first
 * visit stays where they were invited), then the transaction drops to the api_tenant role with
 * the caller's id set, so row-level security applies to every query `fn` makes, whatever its
 * own WHERE clauses say.
 */
export async function asTenant<T>(pool: pg.Pool, sub: string, fn: (db: Db) => Promise<T>): Promise<T> {
  const once = () =>
    transaction(pool, async (db) => {
      if (!seen.has(sub)) await firstVisit(db, sub);
      // One round trip for both: the caller's id for the policies, and the role they apply to.
      await db.query("SELECT set_config('app.user_sub', $1, true), set_config('role', 'api_tenant', true)", [
        sub,
      ]);
      return fn(db);
    });
  let result: T;
  try {
    result = await once();
  } catch (err) {
    if (!(err instanceof ForgottenCaller) || !seen.has(sub)) throw err;
    // Seen here once, but their records are gone since (a test-data cleanup): a first visit again.
    seen.delete(sub);
    result = await once();
  }
  if (seen.size >= SEEN_MAX) seen.clear();
  seen.add(sub);
  return result;
}

/** Thrown inside a tenant transaction when the caller has no record at all: asTenant runs it again as a first visit. */
export class ForgottenCaller extends Error {}

/**
 * The answer to a change, sent once its transaction has committed: sent inside it, a 201 could
 * reach the client before the COMMIT, and the client's next request would not see the change.
 * The transaction returns the body of the answer, or the reply when it answered an error itself.
 */
export function afterCommit(reply: FastifyReply, status: 201 | 204) {
  return (body: unknown): FastifyReply =>
    body === reply ? reply : reply.code(status).send(body ?? undefined);
}

async function firstVisit(db: Db, sub: string): Promise<void> {
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

/** The caller a route acts for: the `sub` of the token its preHandler verified. */
export const caller = (request: { token?: { sub: string } }): string => request.token?.sub as string;

/** A name search: LIKE's own characters in the term match themselves; no term, no filter (null). */
export const likeTerm = (term: string | undefined): string | null =>
  term ? `%${term.replace(/[\\%_]/g, '\\$&')}%` : null;

/**
 * One page of a list and the list's total, as every list route answers: `from` is the FROM and
 * WHERE clause over `args`; LIMIT and OFFSET become the next two parameters.
 */
export async function pageOf(
  db: Db,
  q: { columns: string; from: string; args: unknown[]; orderBy: string; limit: number; offset: number },
) {
  const total = await db.query<{ n: string }>(`SELECT count(*) AS n ${q.from}`, q.args);
  const n = q.args.length;
  const items = await db.query(
    `SELECT ${q.columns} ${q.from} ORDER BY ${q.orderBy} LIMIT $${n + 1} OFFSET $${n + 2}`,
    [...q.args, q.limit, q.offset],
  );
  return { items: items.rows, total: Number(total.rows[0]?.n), limit: q.limit, offset: q.offset };
}
