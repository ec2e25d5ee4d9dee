import pg from 'pg';
import type { SqlCleanup } from '../config/project.js';
import { testNamePattern } from '../conventions/test-names.js';
import { UserError } from '../errors.js';
import type { ServiceSpec } from '../stack/spec.js';

/** Rows by table, each named by its test name (the shape of a test-data API's listing). */
type Rows = Record<string, { id: string; name: string }[]>;

const quote = (ident: string) =>
  ident
    .split('.')
    .map((p) => `"${p.replaceAll('"', '""')}"`)
    .join('.');

/** The entries of a service's sqlCleanup grouped by database, each group one transaction. */
function byDatabase(svc: ServiceSpec, serviceUrl: string): { url: string; entries: SqlCleanup[] }[] {
  const groups = new Map<string, SqlCleanup[]>();
  for (const entry of svc.sqlCleanup ?? []) {
    const target = new URL(serviceUrl);
    if (entry.database) target.pathname = `/${encodeURIComponent(entry.database)}`;
    groups.set(target.href, [...(groups.get(target.href) ?? []), entry]);
  }
  return [...groups].map(([url, entries]) => ({ url, entries }));
}

function explain(svc: ServiceSpec, entry: SqlCleanup, err: unknown): UserError {
  const e = err as { code?: string; message: string };
  const where = `${svc.name}: sqlCleanup ${entry.table}.${entry.column}`;
  if (e.code === '42P01')
    return new UserError(`${where}: there is no table ${entry.table} in that database; fix realstack.json.`);
  if (e.code === '42703')
    return new UserError(`${where}: table ${entry.table} has no column ${entry.column}; fix realstack.json.`);
  if (e.code === '23503')
    return new UserError(
      `${where}: other rows still refer to these (${e.message}); nothing was deleted. List the referring table before ${entry.table} in sqlCleanup.`,
    );
  return new UserError(`${where}: ${e.message}`);
}

async function withClient<T>(url: string, work: (c: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  client.on('error', () => {});
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end().catch(() => {});
  }
}

/** The rows of each sqlCleanup table whose column holds a test name (of one run, or any). */
export async function listSqlTestData(svc: ServiceSpec, serviceUrl: string, run?: string): Promise<Rows> {
  const records: Rows = {};
  for (const group of byDatabase(svc, serviceUrl)) {
    await withClient(group.url, async (client) => {
      for (const entry of group.entries) {
        const sql = `SELECT ${quote(entry.column)}::text AS name FROM ${quote(entry.table)} WHERE ${quote(entry.column)}::text ~ $1 ORDER BY 1`;
        const rows = await client.query<{ name: string }>(sql, [testNamePattern(run)]).catch((err) => {
          throw explain(svc, entry, err);
        });
        records[entry.table] = rows.rows.map((r) => ({ id: r.name, name: r.name }));
      }
    });
  }
  return records;
}

/** A text column holding test names, with how many rows hold one: what `sqlCleanup` would name. */
export interface Found {
  table: string;
  column: string;
  rows: number;
}

/** Enough for any test database's schema, few enough to scan in a moment. */
const MAX_COLUMNS = 300;

/**
 * The text columns of a database that hold test names, for a service with no `sqlCleanup`: what
 * to write there, read from the live schema rather than guessed. It only reads.
 */
export async function findSqlTestData(serviceUrl: string, run?: string): Promise<Found[]> {
  return withClient(serviceUrl, async (client) => {
    const columns = await client.query<{ schema: string; table: string; column: string }>(
      `SELECT c.table_schema AS schema, c.table_name AS table, c.column_name AS column
         FROM information_schema.columns c
         JOIN information_schema.tables t USING (table_schema, table_name)
        WHERE t.table_type = 'BASE TABLE' AND c.table_schema NOT IN ('pg_catalog', 'information_schema')
          AND c.data_type IN ('text', 'character varying', 'character')
        ORDER BY 1, 2, c.ordinal_position LIMIT ${MAX_COLUMNS}`,
    );
    const found: Found[] = [];
    for (const c of columns.rows) {
      const table = c.schema === 'public' ? c.table : `${c.schema}.${c.table}`;
      const sql = `SELECT count(*)::int AS n FROM ${quote(c.schema)}.${quote(c.table)} WHERE ${quote(c.column)} ~ $1`;
      const n = (await client.query<{ n: number }>(sql, [testNamePattern(run)])).rows[0]?.n ?? 0;
      if (n > 0) found.push({ table, column: c.column, rows: n });
    }
    return found;
  });
}

/** Deletes those rows, each database's tables in one transaction, in the order realstack.json lists them. */
export async function deleteSqlTestData(
  svc: ServiceSpec,
  serviceUrl: string,
  run?: string,
): Promise<Record<string, number>> {
  const removed: Record<string, number> = {};
  for (const group of byDatabase(svc, serviceUrl)) {
    await withClient(group.url, async (client) => {
      await client.query('BEGIN');
      try {
        for (const entry of group.entries) {
          const sql = `DELETE FROM ${quote(entry.table)} WHERE ${quote(entry.column)}::text ~ $1`;
          const res = await client.query(sql, [testNamePattern(run)]).catch((err) => {
            throw explain(svc, entry, err);
          });
          removed[entry.table] = (removed[entry.table] ?? 0) + (res.rowCount ?? 0);
        }
        await client.query('COMMIT');
      } catch (err) {
        await client.query('ROLLBACK').catch(() => {});
        throw err;
      }
    });
  }
  return removed;
}
