import type pg from 'pg';
import type { ClientMetadata } from './client-metadata.js';
import type { Params } from './params.js';
import type { FailureLimiter } from './rate-limit.js';
import { secretMatches } from './tokens.js';

export interface Client {
  client_id: string;
  metadata: ClientMetadata;
}

export interface AuthFailure {
  status: number;
  error: string;
  description: string;
  headers: Record<string, string>;
}

export type ClientAuth = { client: Client } | { failure: AuthFailure };

interface Credentials {
  id: string;
  secret?: string;
  method: ClientMetadata['token_endpoint_auth_method'];
}

const fail = (status: number, error: string, description: string, headers: Record<string, string> = {}) => ({
  failure: { status, error, description, headers },
});

/** RFC 6749 §2.3.1: Basic credentials are form-urlencoded before base64. */
export function basicCredentials(header: string): { id: string; secret: string } | undefined {
  const m = /^basic\s+([A-Za-z0-9+/=]+)$/i.exec(header);
  if (!m) return undefined;
  const decoded = Buffer.from(m[1] as string, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 1) return undefined;
  try {
    const form = (s: string) => decodeURIComponent(s.replaceAll('+', ' '));
    return { id: form(decoded.slice(0, colon)), secret: form(decoded.slice(colon + 1)) };
  } catch {
    return undefined;
  }
}

/** Which credentials the request carries, or why they cannot be read (checklist C3). */
function credentials(authorization: string | undefined, params: Params): Credentials | AuthFailure {
  const bodyId = params.get('client_id');
  const bodySecret = params.get('client_secret');
  if (authorization) {
    const basic = basicCredentials(authorization);
    if (!basic) {
      return fail(401, 'invalid_client', 'the Authorization header is not valid Basic client credentials', {
        'www-authenticate': 'Basic realm="token"',
      }).failure;
    }
    if (bodySecret !== undefined || (bodyId !== undefined && bodyId !== basic.id)) {
      return fail(400, 'invalid_request', 'use one client authentication method: Basic or the body, not both')
        .failure;
    }
    return { ...basic, method: 'client_secret_basic' };
  }
  if (bodyId === undefined) {
    return fail(401, 'invalid_client', 'client authentication is required: send client_id (and the secret)')
      .failure;
  }
  return bodySecret === undefined
    ? { id: bodyId, method: 'none' }
    : { id: bodyId, secret: bodySecret, method: 'client_secret_post' };
}

/**
 * Authenticates the client of a token, revocation or introspection request with the method it
 * registered (RFC 7591 `token_endpoint_auth_method`), counting wrong secrets per client.
 */
export async function authenticateClient(
  pool: pg.Pool,
  limiter: FailureLimiter,
  authorization: string | undefined,
  params: Params,
): Promise<ClientAuth> {
  const creds = credentials(authorization, params);
  if ('status' in creds) return { failure: creds };
  const challenge: Record<string, string> =
    creds.method === 'client_secret_basic' ? { 'www-authenticate': 'Basic realm="token"' } : {};

  const wait = limiter.retryAfter(`client:${creds.id}`);
  if (wait > 0) {
    return fail(429, 'invalid_client', `too many failed authentications; retry in ${wait} s`, {
      'retry-after': String(wait),
    });
  }
  const res = await pool.query<Client & { client_secret_hash: string | null }>(
    'SELECT client_id, client_secret_hash, metadata FROM auth.clients WHERE client_id = $1',
    [creds.id],
  );
  const row = res.rows[0];
  if (!row) return fail(401, 'invalid_client', 'no such client (or it was deleted)', challenge);
  const registered = row.metadata.token_endpoint_auth_method;
  if (registered !== creds.method) {
    const how =
      registered === 'none'
        ? 'it is a public client: send client_id only, no secret'
        : `it registered ${registered}: send its secret that way`;
    return fail(401, 'invalid_client', `wrong client authentication method: ${how}`, challenge);
  }
  if (registered !== 'none' && !secretMatches(creds.secret ?? '', row.client_secret_hash)) {
    limiter.fail(`client:${creds.id}`);
    return fail(401, 'invalid_client', 'the client secret is wrong', challenge);
  }
  limiter.succeed(`client:${creds.id}`);
  return { client: { client_id: row.client_id, metadata: row.metadata } };
}
