import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { UserError } from '../errors.js';
import type { ServiceSpec } from '../stack/spec.js';

/** Where the official postgres image (and realstack's stand-in) runs a new database's scripts from. */
const INIT_DIR = '/docker-entrypoint-initdb.d';

/**
 * What the postgres image does for a new database, done by the process engine: every `*.sql`
 * file mounted under /docker-entrypoint-initdb.d, in name order, as the POSTGRES_USER on the
 * POSTGRES_DB. Shell scripts cannot run outside the image: they are refused by name.
 */
export async function runInitScripts(svc: ServiceSpec, url: string): Promise<void> {
  const files = svc.binds
    .filter((b) => b.container === INIT_DIR || b.container.startsWith(`${INIT_DIR}/`))
    .flatMap((b) =>
      statSync(b.host, { throwIfNoEntry: false })?.isDirectory()
        ? readdirSync(b.host).map((f) => ({ name: f, file: path.join(b.host, f) }))
        : [{ name: path.basename(b.container), file: b.host }],
    )
    .sort((a, b) => a.name.localeCompare(b.name));
  if (files.length === 0) return;
  const shell = files.filter((f) => !f.name.endsWith('.sql'));
  if (shell.length > 0)
    throw new UserError(
      `service "${svc.name}": the process engine runs only .sql init scripts, not ${shell.map((f) => f.name).join(', ')}. Use the docker engine, or write them as SQL.`,
    );
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    for (const f of files) {
      try {
        await client.query(readFileSync(f.file, 'utf8'));
      } catch (err) {
        throw new UserError(`service "${svc.name}": init script ${f.name} failed: ${(err as Error).message}`);
      }
    }
  } finally {
    await client.end();
  }
}
