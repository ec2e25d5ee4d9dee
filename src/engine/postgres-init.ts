import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { UserError } from '../errors.js';
import { initScripts } from '../stack/postgres-settings.js';
import type { ServiceSpec } from '../stack/spec.js';

/**
 * What the postgres image does for a new database, done by the process engine: the `*.sql` and
 * `*.sql.gz` init scripts in name order, as the POSTGRES_USER on the POSTGRES_DB (the others were
 * refused before the run started: src/stack/infer.ts).
 */
export async function runInitScripts(svc: ServiceSpec, url: string): Promise<void> {
  const files = initScripts(svc);
  if (files.length === 0) return;
  // Loaded for scripts only: a stack without them starts without the client (50 to 75 ms).
  const { default: pg } = await import('pg');
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    for (const f of files) {
      try {
        const bytes = readFileSync(f.file);
        await client.query((f.name.endsWith('.gz') ? gunzipSync(bytes) : bytes).toString('utf8'));
      } catch (err) {
        throw new UserError(`service "${svc.name}": init script ${f.name} failed: ${(err as Error).message}`);
      }
    }
  } finally {
    await client.end();
  }
}
