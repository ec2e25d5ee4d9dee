import pg from 'pg';

/** The URL without its password, safe to print. */
export function redactUrl(raw: string): string {
  try {
    const url = new URL(raw);
    if (url.password) url.password = '***';
    return url.toString();
  } catch {
    return '(unparseable URL)';
  }
}

export class DatabaseUnreachableError extends Error {}

/**
 * Connects with retries for up to `timeoutMs`: a database that is still starting is normal,
 * one that never answers gets an error naming the URL and the last cause.
 */
export async function connectPool(url: string, timeoutMs: number): Promise<pg.Pool> {
  const pool = new pg.Pool({ connectionString: url, max: 10, connectionTimeoutMillis: 2000 });
  // An idle client losing its connection must not crash the service; the next query reconnects.
  pool.on('error', () => {});
  const deadline = Date.now() + timeoutMs;
  let last: Error | undefined;
  while (Date.now() < deadline) {
    try {
      await pool.query('SELECT 1');
      return pool;
    } catch (err) {
      last = err as Error;
      await new Promise((r) => setTimeout(r, 250));
    }
  }
  await pool.end().catch(() => {});
  throw new DatabaseUnreachableError(
    `cannot reach PostgreSQL at ${redactUrl(url)} within ${timeoutMs} ms: ${last?.message ?? 'no answer'}. ` +
      'Check that the server is running, that host and port are right, and the user and password.',
  );
}

/** Runs `fn` in one transaction on one connection: committed if it returns, rolled back if it throws. */
export async function transaction<T>(pool: pg.Pool, fn: (db: pg.PoolClient) => Promise<T>): Promise<T> {
  const db = await pool.connect();
  try {
    await db.query('BEGIN');
    const result = await fn(db);
    await db.query('COMMIT');
    return result;
  } catch (err) {
    await db.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    db.release();
  }
}
