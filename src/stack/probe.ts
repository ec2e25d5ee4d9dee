import pg from 'pg';
import { request } from 'undici';
import type { Health } from '../engine/types.js';

/** GET url+path: 2xx is healthy; a refused connection means the service is still starting. */
export async function probeHttp(url: string, path: string): Promise<Health> {
  try {
    const res = await request(new URL(path, url), { headersTimeout: 2000, bodyTimeout: 2000 });
    await res.body.dump();
    return res.statusCode >= 200 && res.statusCode < 300 ? 'healthy' : 'unhealthy';
  } catch {
    return 'starting';
  }
}

export async function probePostgres(url: string): Promise<Health> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2000 });
  client.on('error', () => {});
  try {
    await client.connect();
    await client.query('SELECT 1');
    return 'healthy';
  } catch {
    return 'starting';
  } finally {
    await client.end().catch(() => {});
  }
}
