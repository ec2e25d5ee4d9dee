import pg from 'pg';
import { request } from 'undici';
import type { Health } from '../engine/types.js';
import { portAnswers } from '../util/net.js';
import type { ServiceSpec } from './spec.js';

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

/**
 * realstack's own readiness rule, the same on every engine, for a service without a health
 * check of its own: PostgreSQL answers a query; else the health path answers 2xx; else the
 * published port accepts connections; a service with no port is ready once it runs.
 */
export async function probeService(spec: ServiceSpec | undefined, url: string | undefined): Promise<Health> {
  if (!url) return 'none';
  if (spec?.role === 'postgres' || url.startsWith('postgres')) return probePostgres(url);
  if (spec?.healthPath) return probeHttp(url, spec.healthPath);
  const { hostname, port } = new URL(url);
  return (await portAnswers(Number(port), hostname)) ? 'healthy' : 'starting';
}

/** realstack's rule for a service, in words: what `probeService` waits for. */
export function readinessRule(spec: ServiceSpec): string {
  if (spec.role === 'postgres') return 'PostgreSQL answers a query';
  if (spec.healthPath) return `GET ${spec.healthPath} answers 2xx`;
  return spec.containerPort ? `port ${spec.containerPort} accepts connections` : 'it runs';
}
