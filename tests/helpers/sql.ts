import pg from 'pg';

/** The rows one statement returns, on a connection of its own to `url` (a password set in it). */
export async function queryAt(url: string | URL, text: string): Promise<Record<string, unknown>[]> {
  const client = new pg.Client({ connectionString: String(url) });
  await client.connect();
  try {
    return (await client.query(text)).rows;
  } finally {
    await client.end();
  }
}
