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
 * its POSTGRES_* variables (what the official image and realstack's stand-in honour), else
 * http:// (or the scheme of a well-known port) on 127.0.0.1.
 */
export function serviceUrl(spec: ServiceSpec, port: number): string {
  if (spec.role === 'postgres') {
    const e = spec.environment;
    const user = e.POSTGRES_USER || 'postgres';
    return `postgres://${encodeURIComponent(user)}:${encodeURIComponent(e.POSTGRES_PASSWORD ?? '')}@127.0.0.1:${port}/${encodeURIComponent(e.POSTGRES_DB || user)}`;
  }
  const scheme =
    spec.role === 'other' && spec.containerPort ? (SCHEMES[spec.containerPort] ?? 'http') : 'http';
  return `${scheme}://127.0.0.1:${port}`;
}
