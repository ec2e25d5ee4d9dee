import { postgresSettings } from '../stack/postgres-settings.js';
import type { ServiceSpec } from '../stack/spec.js';

/** Schemes of well-known ports of services that are not Node or PostgreSQL. */
const SCHEMES: Record<number, string> = {
  6379: 'redis',
  27017: 'mongodb',
  3306: 'mysql',
  5672: 'amqp',
  11211: 'tcp',
};

/**
 * A service's URL on the host, the same on every engine: PostgreSQL's with the credentials of
 * its POSTGRES_* variables (src/stack/postgres-settings.ts), else
 * http:// (or the scheme of a well-known port) on 127.0.0.1.
 */
export function serviceUrl(spec: ServiceSpec, port: number): string {
  if (spec.role === 'postgres') {
    const { user, password, database } = postgresSettings(spec);
    return `postgres://${encodeURIComponent(user)}:${encodeURIComponent(password)}@127.0.0.1:${port}/${encodeURIComponent(database)}`;
  }
  const scheme =
    spec.role === 'redis'
      ? 'redis'
      : spec.role === 'other' && spec.containerPort
        ? (SCHEMES[spec.containerPort] ?? 'http')
        : 'http';
  return `${scheme}://127.0.0.1:${port}`;
}
