import pg from 'pg';
import type { Db } from './tenant-db.js';

const CHANNEL = 'api_active_organisation';

/**
 * Each user's active organisation, cached per replica and per user (a user's entry is only ever
 * read for that user). Every change publishes the user's id with NOTIFY inside the changing
 * transaction, so PostgreSQL delivers it at commit to every replica's listener, which drops the
 * entry: a replica never keeps serving a value another replica replaced.
 */
export class ActiveOrganisationCache {
  private readonly entries = new Map<string, string>();
  // Counts invalidations: an entry read from the database before an invalidation arrived is not stored.
  private generation = 0;
  private listener: pg.Client | undefined;

  /** Listens on its own connection (a pooled one could be handed to a request mid-LISTEN). */
  async listen(databaseUrl: string, onError: (err: Error) => void): Promise<void> {
    const client = new pg.Client({ connectionString: databaseUrl });
    client.on('notification', (n) => {
      this.generation += 1;
      if (n.payload === '*') this.entries.clear();
      else if (n.payload) this.entries.delete(n.payload);
    });
    // A lost listener would let entries go stale: forget everything and stop caching.
    client.on('error', (err) => {
      this.listener = undefined;
      this.entries.clear();
      onError(err);
    });
    await client.connect();
    await client.query(`LISTEN ${CHANNEL}`);
    this.listener = client;
  }

  get(sub: string): string | undefined {
    return this.entries.get(sub);
  }

  /** Where a read starts: pass it to `set` with what the read found. */
  mark(): number {
    return this.generation;
  }

  set(sub: string, organisationId: string, mark: number): void {
    if (this.listener && mark === this.generation) this.entries.set(sub, organisationId);
  }

  /** Drops `sub`'s entry here now, and everywhere once `db`'s transaction commits. */
  async invalidate(db: Db, sub: string | '*'): Promise<void> {
    this.generation += 1;
    if (sub === '*') this.entries.clear();
    else this.entries.delete(sub);
    await db.query('SELECT pg_notify($1, $2)', [CHANNEL, sub]);
  }

  async close(): Promise<void> {
    await this.listener?.end();
    this.listener = undefined;
  }
}
