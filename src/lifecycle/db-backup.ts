import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream, existsSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { pipeline } from 'node:stream/promises';
import { createGunzip, createGzip } from 'node:zlib';
import pg from 'pg';
import { from as copyFrom, to as copyTo } from 'pg-copy-streams';
import type { Engine } from '../engine/types.js';
import { UserError } from '../errors.js';

/**
 * Backups of a stack's PostgreSQL as realstack makes them: every table of the database's own
 * schemas, one consistent snapshot, in COPY's text format, after a header that says what was
 * dumped and the shape of every table. The file reads like pg_dump's plain format (COPY ... FROM
 * stdin; rows; \.), gzip'd. Why not pg_dump: the process engine's PostgreSQL binaries ship no
 * pg_dump, and a client of another version refuses a newer server; this way both engines back up
 * and restore alike, over the same connection the tests use, and a restore can refuse a database
 * whose schema is not the backup's before it touches a row.
 */

interface Column {
  table: string;
  column: string;
  type: string;
  nullable: boolean;
}

export interface BackupHeader {
  format: 'realstack-backup-1';
  service: string;
  database: string;
  server: string;
  createdAt: string;
  /** The shape of every table: a restore needs the same. */
  schemaHash: string;
  columns: Column[];
  tables: { name: string; rows: number }[];
  sequences: { name: string; value: string; called: boolean }[];
}

const HEADER = '-- realstack backup ';
const quoteIdent = (s: string) => `"${s.replaceAll('"', '""')}"`;
const qualified = (name: string) => name.split('.').map(quoteIdent).join('.');

/** The PostgreSQL instance of a stack: the one postgres service, or the one named. */
export async function databaseOf(
  engine: Engine,
  service?: string,
): Promise<{ service: string; url: string }> {
  const dbs = engine.stack.services.filter((s) => s.role === 'postgres');
  const svc = service ? engine.stack.services.find((s) => s.name === service) : dbs[0];
  if (service && !svc)
    throw new UserError(
      `there is no service "${service}"; the PostgreSQL services are ${dbs.map((s) => s.name).join(', ') || 'none'}.`,
      2,
    );
  if (svc?.role !== 'postgres')
    throw new UserError(
      service
        ? `${service} is not a PostgreSQL service (its role is ${svc?.role}); set its role in realstack.json if it is one.`
        : 'the stack has no PostgreSQL service to back up.',
      2,
    );
  if (!service && dbs.length > 1)
    throw new UserError(
      `the stack has ${dbs.length} PostgreSQL services (${dbs.map((s) => s.name).join(', ')}): name one with --service.`,
      2,
    );
  const url = (await engine.instances()).find((i) => i.service === svc.name && i.state === 'running')?.url;
  if (!url) throw new UserError(`${svc.name} is not running: \`npx realstack ps\` shows the stack.`);
  return { service: svc.name, url };
}

async function shape(db: pg.ClientBase): Promise<{ columns: Column[]; tables: string[]; hash: string }> {
  const res = await db.query<Column>(
    `SELECT n.nspname || '.' || c.relname AS table, a.attname AS column,
            format_type(a.atttypid, a.atttypmod) AS type, NOT a.attnotnull AS nullable
     FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
     JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
     WHERE c.relkind IN ('r', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema')
       AND n.nspname NOT LIKE 'pg_toast%' AND n.nspname NOT LIKE 'pg_temp%'
     ORDER BY 1, a.attnum`,
  );
  const hash = createHash('sha256').update(JSON.stringify(res.rows)).digest('hex');
  return { columns: res.rows, tables: [...new Set(res.rows.map((c) => c.table))], hash };
}

/** What differs between the backup's tables and the database's, in words (at most 10 lines). */
function differences(backup: Column[], now: Column[]): string[] {
  const key = (c: Column) => `${c.table}.${c.column}`;
  const was = new Map(backup.map((c) => [key(c), c]));
  const is = new Map(now.map((c) => [key(c), c]));
  const out: string[] = [];
  for (const [k, c] of was) {
    const n = is.get(k);
    if (!n) out.push(`${k} (${c.type}) is in the backup, not in the database`);
    else if (n.type !== c.type || n.nullable !== c.nullable)
      out.push(
        `${k} is ${c.type}${c.nullable ? '' : ' not null'} in the backup, ${n.type}${n.nullable ? '' : ' not null'} in the database`,
      );
  }
  for (const [k, n] of is)
    if (!was.has(k)) out.push(`${k} (${n.type}) is in the database, not in the backup`);
  return out.slice(0, 10);
}

/** Writes the backup of the database at `url` to `file` (written whole: a failed backup leaves nothing). */
export async function backup(service: string, url: string, file: string): Promise<BackupHeader> {
  const db = new pg.Client({ connectionString: url });
  await db.connect();
  mkdirSync(path.dirname(file), { recursive: true });
  const partial = `${file}.partial`;
  try {
    // One snapshot for every table: what the backup holds was all true at one moment.
    await db.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    const { columns, tables, hash } = await shape(db);
    const counts: BackupHeader['tables'] = [];
    for (const name of tables)
      counts.push({
        name,
        rows: Number((await db.query(`SELECT count(*) FROM ${qualified(name)}`)).rows[0].count),
      });
    const sequences = (
      await db.query<{ name: string; value: string; called: boolean }>(
        `SELECT schemaname || '.' || sequencename AS name, COALESCE(last_value, 1)::text AS value, last_value IS NOT NULL AS called
         FROM pg_sequences WHERE schemaname NOT IN ('pg_catalog', 'information_schema') ORDER BY 1`,
      )
    ).rows;
    // Distribution builds append their package ("15.18 (Debian 15.18-0+deb12u1)"): the number is
    // what says which server wrote the backup.
    const version = String((await db.query('SHOW server_version')).rows[0].server_version).split(' ')[0];
    const header: BackupHeader = {
      format: 'realstack-backup-1',
      service,
      database: db.database ?? '',
      server: version,
      createdAt: new Date().toISOString(),
      schemaHash: hash,
      columns,
      tables: counts,
      sequences,
    };
    const gzip = createGzip();
    const written = pipeline(gzip, createWriteStream(partial));
    gzip.write(`${HEADER}${JSON.stringify(header)}\n`);
    for (const t of tables) {
      gzip.write(`COPY ${qualified(t)} FROM stdin;\n`);
      const rows = db.query(copyTo(`COPY ${qualified(t)} TO STDOUT`));
      for await (const chunk of rows) if (!gzip.write(chunk)) await new Promise((r) => gzip.once('drain', r));
      gzip.write('\\.\n');
    }
    gzip.end();
    await written;
    await db.query('COMMIT');
    renameSync(partial, file);
    return header;
  } catch (err) {
    rmSync(partial, { force: true });
    throw err;
  } finally {
    await db.end();
  }
}

/** The header of a backup file, or a clear error for a file that is not one. */
export async function readHeader(file: string): Promise<BackupHeader> {
  if (!existsSync(file)) throw new UserError(`${file}: no such backup.`, 2);
  const lines = createInterface({ input: createReadStream(file).pipe(createGunzip()) });
  try {
    for await (const line of lines) {
      if (line.startsWith(HEADER)) return JSON.parse(line.slice(HEADER.length)) as BackupHeader;
      break;
    }
  } catch {}
  throw new UserError(`${file} is not a realstack backup (\`npx realstack db backup\` makes them).`, 2);
}

/**
 * Restores a backup into the database at `url`, whose tables must have the backup's shape (else
 * nothing is touched and the differences are named). One transaction: every table of the backup
 * emptied and filled again, sequences set, or, on any error, nothing changed. Foreign keys and
 * triggers wait while it runs (session_replication_role), so tables load in any order; that needs
 * a superuser, which POSTGRES_USER is.
 */
export async function restore(url: string, file: string): Promise<BackupHeader> {
  const header = await readHeader(file);
  const db = new pg.Client({ connectionString: url });
  await db.connect();
  try {
    const now = await shape(db);
    if (now.hash !== header.schemaHash) {
      const diff = differences(header.columns, now.columns);
      throw new UserError(
        `refusing to restore ${path.basename(file)}: the database's tables differ from the backup's (made ${header.createdAt}), and its rows would not fit:\n  ${diff.join('\n  ')}\nRestore into a stack at the backup's schema (the commit it was made at), or back up again.`,
      );
    }
    await db.query('BEGIN');
    await db.query("SET LOCAL session_replication_role = 'replica'");
    await db.query(`TRUNCATE ${header.tables.map((t) => qualified(t.name)).join(', ')}`);
    const lines = createInterface({
      input: createReadStream(file).pipe(createGunzip()),
      crlfDelay: Number.POSITIVE_INFINITY,
    });
    let copy: ReturnType<typeof copyFrom> | undefined;
    let done: Promise<void> | undefined;
    for await (const line of lines) {
      if (!copy) {
        const m = /^COPY (.+) FROM stdin;$/.exec(line);
        if (!m) continue;
        copy = db.query(copyFrom(`COPY ${m[1]} FROM STDIN`));
        done = new Promise<void>((resolve, reject) => {
          copy?.on('finish', resolve);
          copy?.on('error', reject);
        });
        continue;
      }
      if (line === '\\.') {
        copy.end();
        await done;
        copy = undefined;
        continue;
      }
      if (!copy.write(`${line}\n`)) await new Promise((r) => copy?.once('drain', r));
    }
    for (const s of header.sequences)
      await db.query('SELECT setval($1::regclass, $2::bigint, $3)', [qualified(s.name), s.value, s.called]);
    await db.query('COMMIT');
    return header;
  } catch (err) {
    await db.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    await db.end();
  }
}
