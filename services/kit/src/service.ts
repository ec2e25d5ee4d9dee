import Fastify, { type FastifyInstance } from 'fastify';
import type pg from 'pg';
import { ConfigError, loadConfig, port, postgresUrl, text, type VarSpec } from './config.js';
import { connectPool, DatabaseUnreachableError } from './db.js';
import { installInputChecks, UUID } from './input.js';
import { type Migration, migrate } from './migrate.js';
import { stopWhileStarting } from './starting.js';

const whole = (raw: string): number => {
  const n = Number(raw);
  if (!Number.isInteger(n) || n <= 0) throw new Error('must be a positive whole number');
  return n;
};

const baseSpecs = {
  PORT: { parse: port, default: '3000', hint: 'the TCP port to listen on' },
  HOST: { parse: text, default: '0.0.0.0', hint: 'the address to listen on' },
  DATABASE_URL: { parse: postgresUrl, hint: 'e.g. postgres://user:password@localhost:5432/db' },
  DB_CONNECT_TIMEOUT_MS: { parse: whole, default: '15000', hint: 'milliseconds to wait for PostgreSQL' },
  SHUTDOWN_TIMEOUT_MS: { parse: whole, default: '10000', hint: 'milliseconds a graceful stop may take' },
  LOG_LEVEL: { parse: text, default: 'info', hint: 'fatal, error, warn, info, debug or trace' },
} satisfies Record<string, VarSpec<unknown>>;

export type BaseConfig = ReturnType<typeof loadConfig<typeof baseSpecs>>;

export interface ServiceContext<C> {
  app: FastifyInstance;
  pool: pg.Pool;
  config: BaseConfig & C;
}

export interface ServiceDefinition<S extends Record<string, VarSpec<unknown>>> {
  name: string;
  /** The PostgreSQL schema the service owns; its migrations run there. */
  schema: string;
  migrations: Migration[];
  config: S;
  register(ctx: ServiceContext<ReturnType<typeof loadConfig<S>>>): Promise<void> | void;
}

/** Exit codes a supervisor can tell apart (sysexits.h). */
export const EXIT = { ok: 0, failure: 1, unavailable: 69, config: 78 } as const;

/**
 * Starts a service: config, database, migrations, routes, /health, and a graceful stop on
 * SIGTERM/SIGINT (stop accepting, finish in-flight requests, close the pool, exit 0).
 */
export async function runService<S extends Record<string, VarSpec<unknown>>>(def: ServiceDefinition<S>) {
  let config: BaseConfig & ReturnType<typeof loadConfig<S>>;
  try {
    config = loadConfig({ ...baseSpecs, ...def.config }) as BaseConfig & ReturnType<typeof loadConfig<S>>;
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`${def.name}: ${err.message}\n`);
    process.exit(EXIT.config);
  }

  let pool: pg.Pool;
  try {
    pool = await connectPool(config.DATABASE_URL, config.DB_CONNECT_TIMEOUT_MS);
  } catch (err) {
    if (!(err instanceof DatabaseUnreachableError)) throw err;
    process.stderr.write(`${def.name}: ${err.message}\n`);
    process.exit(EXIT.unavailable);
  }

  const app = Fastify({
    logger: { level: config.LOG_LEVEL, base: { service: def.name } },
    // Node answers a request without Host with an empty 400: installInputChecks says why instead.
    http: { requireHostHeader: false },
    // A field the schema does not name is refused (400, named), not dropped: a caller trying to
    // set what it may not (an organisation_id) should hear so.
    // And `format: "uuid"` is the one id format, checked once: ajv's own also takes urn:uuid:...,
    // which PostgreSQL then refuses.
    ajv: { customOptions: { removeAdditional: false }, onCreate: (ajv) => ajv.addFormat('uuid', UUID) },
  });
  installInputChecks(app);
  const applied = await migrate(pool, def.schema, def.migrations);
  app.log.info({ schema: def.schema, applied }, 'migrations applied');

  // Polled every second by readiness checks: only failures belong in the log.
  app.get('/health', { logLevel: 'warn' }, async (_req, reply) => {
    try {
      await pool.query('SELECT 1');
      return { status: 'ok', service: def.name };
    } catch (err) {
      return reply
        .code(503)
        .send({ status: 'unavailable', service: def.name, database: (err as Error).message });
    }
  });
  await def.register({ app, pool, config });

  let stopping = false;
  const stop = async (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    app.log.info({ signal }, 'stopping gracefully');
    const guard = setTimeout(() => {
      app.log.error(`graceful stop took over ${config.SHUTDOWN_TIMEOUT_MS} ms; exiting`);
      process.exit(EXIT.failure);
    }, config.SHUTDOWN_TIMEOUT_MS);
    guard.unref();
    // fastify closes the connections idle when the close begins; one busy then goes idle later
    // and would be kept open for keepAliveTimeout (72 s), past the guard: close those as they idle.
    const sweep = setInterval(() => app.server.closeIdleConnections(), 50);
    await app.close();
    clearInterval(sweep);
    await pool.end();
    app.log.info('stopped');
    process.exit(EXIT.ok);
  };
  // From here a stop is graceful (./starting.ts held the signals until now).
  process.off('SIGTERM', stopWhileStarting);
  process.off('SIGINT', stopWhileStarting);
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);

  const address = await app.listen({ port: config.PORT, host: config.HOST });
  app.log.info({ address }, `${def.name} listening`);
  return { app, pool, config };
}
