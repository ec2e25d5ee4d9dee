import http from 'node:http';
import net from 'node:net';
import type { Health } from '../engine/types.js';
import { portAnswers } from '../util/net.js';
import { pgAccepts } from './pg-ping.js';
import type { ServiceSpec } from './spec.js';

const PROBE_TIMEOUT_MS = 2000;

/** How much of an answer's body `httpAnswer` keeps: enough for a health route's reason. */
const BODY_KEPT = 300;

/**
 * GET url+path: its status and the start of its body; no status where nothing answered (a
 * refused connection, a timeout). node:http, not undici: `ps` runs this, and loading undici cost
 * it 0.13 s of 0.5.
 */
export function httpAnswer(url: string, path: string): Promise<{ status?: number; body: string }> {
  return new Promise((resolve) => {
    const req = http.get(new URL(path, url), { timeout: PROBE_TIMEOUT_MS }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        if (body.length < BODY_KEPT) body += chunk;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: body.slice(0, BODY_KEPT) }));
      res.on('error', () => resolve({ body: '' }));
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve({ body: '' }));
  });
}

/**
 * Why a service whose health path answered but not 2xx is not ready, in words: realstack's
 * probe is its readiness where no health check of its own runs (the process engine, a compose
 * file without one), and "keeps failing" would not say that it answered, nor what.
 */
export async function unhealthyAnswer(url: string, healthPath: string): Promise<string | undefined> {
  const { status, body } = await httpAnswer(url, healthPath);
  if (status === undefined || (status >= 200 && status < 300)) return undefined;
  const said = body.replace(/\s+/g, ' ').trim();
  return `is unhealthy: GET ${healthPath} answers ${status}${said ? ` (${said})` : ''}, and realstack waits for a 2xx (its healthPath in realstack.json)`;
}

/** 2xx is healthy; a refused connection means the service is still starting. */
export async function probeHttp(url: string, path: string): Promise<Health> {
  const { status } = await httpAnswer(url, path);
  if (status === undefined) return 'starting';
  return status >= 200 && status < 300 ? 'healthy' : 'unhealthy';
}

export async function probePostgres(url: string): Promise<Health> {
  return (await pgAccepts(url, PROBE_TIMEOUT_MS)) ? 'healthy' : 'starting';
}

/**
 * Redis answers a PING: `+PONG`, or an error that is an answer too (`-NOAUTH`: a password is the
 * clients' business); `-LOADING` (a dataset still loading) or no answer is starting.
 */
export function probeRedis(url: string): Promise<Health> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = net.connect({ port: Number(port), host: hostname });
    let reply = '';
    const done = (health: Health) => {
      socket.destroy();
      resolve(health);
    };
    socket.setTimeout(PROBE_TIMEOUT_MS, () => done('starting'));
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.on('data', (chunk) => {
      reply += chunk.toString('latin1');
      if (reply.includes('\r\n')) done(reply.startsWith('-LOADING') ? 'starting' : 'healthy');
    });
    socket.once('close', () => done('starting'));
    socket.once('error', () => done('starting'));
  });
}

/**
 * realstack's own readiness rule, the same on every engine, for a service without a health
 * check of its own: PostgreSQL accepts connections (as `pg_isready` asks); else the health path answers 2xx; else the
 * published port accepts connections; a service with no port is ready once it runs. `direct`:
 * the URL is the service's own socket (the process engine), with no proxy in front of it.
 */
export async function probeService(
  spec: ServiceSpec | undefined,
  url: string | undefined,
  options: { direct?: boolean } = {},
): Promise<Health> {
  if (!url) return 'none';
  if (spec?.role === 'postgres' || url.startsWith('postgres')) return probePostgres(url);
  if (spec?.role === 'redis') return probeRedis(url);
  if (spec?.healthPath) return probeHttp(url, spec.healthPath);
  const { hostname, port } = new URL(url);
  return (await portAnswers(Number(port), hostname, { direct: options.direct })) ? 'healthy' : 'starting';
}

/** realstack's rule for a service, in words: what `probeService` waits for. */
export function readinessRule(spec: ServiceSpec): string {
  if (spec.role === 'postgres') return 'PostgreSQL accepts connections';
  if (spec.role === 'redis') return 'Redis answers PING';
  if (spec.healthPath) return `GET ${spec.healthPath} answers 2xx`;
  return spec.containerPort ? `port ${spec.containerPort} accepts connections` : 'it runs';
}
