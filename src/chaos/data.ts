import { randomBytes } from 'node:crypto';
import pg from 'pg';
import type { ChaosRequest } from '../config/project.js';

/** A chaos check's result line. */
export interface Check {
  what: string;
  ok: boolean;
  detail: string;
}

/** Writes committed records before a fault and reads them back after it. */
export interface DataProbe {
  /** What it writes through: the service's API, or SQL on its database. */
  readonly how: string;
  write(count: number): Promise<Check>;
  readBack(): Promise<Check>;
  /** Reads one written record now (during a fault): what the service answers, through its API only. */
  readOne?(): Promise<{ status: number; text: string }>;
}

const marker = () => `TEST chaos ${randomBytes(4).toString('hex')}`;

/** `${marker}` in any string of a request's path or body becomes the record's own value. */
function fill(value: unknown, m: string): unknown {
  // biome-ignore lint/suspicious/noTemplateCurlyInString: the placeholder users write, not a template
  if (typeof value === 'string') return value.replaceAll('${marker}', m);
  if (Array.isArray(value)) return value.map((v) => fill(v, m));
  if (value && typeof value === 'object')
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, fill(v, m)]));
  return value;
}

/** Through the service's own API (realstack.json chaos.data): what users of the service rely on. */
export function apiProbe(
  baseUrl: () => string,
  spec: { write: ChaosRequest; read: ChaosRequest },
  token: string | undefined,
): DataProbe {
  const written: { id: string; marker: string }[] = [];
  const call = async (r: ChaosRequest, m: string, id = '') => {
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (r.auth && token) headers.authorization = `Bearer ${token}`;
    const res = await fetch(
      new URL((fill(r.path, m) as string).replace(':id', encodeURIComponent(id)), baseUrl()),
      {
        method: r.method,
        headers,
        ...(r.body !== undefined ? { body: JSON.stringify(fill(r.body, m)) } : {}),
        signal: AbortSignal.timeout(10_000),
      },
    );
    return { status: res.status, text: await res.text() };
  };
  return {
    how: `${spec.write.method} ${spec.write.path}, read back by ${spec.read.method} ${spec.read.path}`,
    async write(count) {
      written.length = 0;
      for (let i = 0; i < count; i++) {
        const m = marker();
        const res = await call(spec.write, m).catch((e: Error) => ({ status: 0, text: e.message }));
        const id =
          res.status >= 200 && res.status < 300 ? (JSON.parse(res.text) as { id?: unknown }).id : undefined;
        if (id === undefined)
          return {
            what: 'committed data written',
            ok: false,
            detail: `${spec.write.method} ${spec.write.path} answered ${res.status}: ${res.text.slice(0, 200)}`,
          };
        written.push({ id: String(id), marker: m });
      }
      return {
        what: 'committed data written',
        ok: true,
        detail: `${count} records through ${spec.write.method} ${spec.write.path}`,
      };
    },
    async readOne() {
      const w = written[0];
      if (!w) return { status: 0, text: 'nothing written' };
      return call(spec.read, w.marker, w.id).catch((e: Error) => ({ status: 0, text: e.message }));
    },
    async readBack() {
      const lost: string[] = [];
      for (const w of written) {
        const res = await call(spec.read, w.marker, w.id).catch((e: Error) => ({
          status: 0,
          text: e.message,
        }));
        if (res.status !== 200 || !res.text.includes(w.marker)) lost.push(`${w.id} (${res.status})`);
      }
      return {
        what: 'no committed data lost',
        ok: lost.length === 0 && written.length > 0,
        detail: lost.length
          ? `not read back: ${lost.join(', ')}`
          : `${written.length} of ${written.length} records read back`,
      };
    },
  };
}

/** Straight on the database, when the service declares no API for it: the database keeps what it committed. */
export function sqlProbe(databaseUrl: string): DataProbe {
  const written: string[] = [];
  const withClient = async <T>(fn: (c: pg.Client) => Promise<T>): Promise<T> => {
    const client = new pg.Client({ connectionString: databaseUrl, connectionTimeoutMillis: 5000 });
    await client.connect();
    try {
      return await fn(client);
    } finally {
      await client.end();
    }
  };
  return {
    how: 'SQL on the database (table realstack_chaos)',
    async write(count) {
      written.length = 0;
      try {
        await withClient(async (c) => {
          await c.query(
            'CREATE TABLE IF NOT EXISTS realstack_chaos (id serial PRIMARY KEY, marker text NOT NULL)',
          );
          for (let i = 0; i < count; i++) {
            const m = marker();
            await c.query('INSERT INTO realstack_chaos (marker) VALUES ($1)', [m]);
            written.push(m);
          }
        });
        return { what: 'committed data written', ok: true, detail: `${count} rows into realstack_chaos` };
      } catch (err) {
        return { what: 'committed data written', ok: false, detail: (err as Error).message };
      }
    },
    async readBack() {
      try {
        const found = await withClient(
          async (c) =>
            (await c.query('SELECT marker FROM realstack_chaos WHERE marker = ANY($1)', [written])).rows
              .length,
        );
        return {
          what: 'no committed data lost',
          ok: found === written.length && found > 0,
          detail: `${found} of ${written.length} rows read back`,
        };
      } catch (err) {
        return { what: 'no committed data lost', ok: false, detail: (err as Error).message };
      }
    },
  };
}
