/**
 * Access tokens signed with the authorization server's own active key, read from its database,
 * with one claim or header changed: how the api's checks (S2-S6) are proven on tokens that
 * differ from a valid one in exactly one way.
 */
import { randomBytes } from 'node:crypto';
import { importJWK, type JWK, SignJWT } from 'jose';
import pg from 'pg';
import type { Test } from 'tap';
import { API_RESOURCE } from './oauth.js';
import { stack } from './stack.js';

const s = stack();

export async function serverKey(t: Test): Promise<{ kid: string; jwk: JWK }> {
  const db = new pg.Client({ connectionString: s.postgres });
  await db.connect();
  t.teardown(() => db.end());
  const row = (await db.query('SELECT kid, private_jwk FROM auth.signing_keys WHERE retired_at IS NULL'))
    .rows[0];
  return { kid: row.kid, jwk: row.private_jwk };
}

/** A valid access token's claims for the api, with `claims` changed (undefined removes one). */
export function accessTokenClaims(claims: Record<string, unknown> = {}): Record<string, unknown> {
  const now = Math.floor(Date.now() / 1000);
  const payload: Record<string, unknown> = {
    iss: new URL(s.auth).origin,
    aud: API_RESOURCE,
    sub: 'test-subject',
    client_id: 'test-client',
    scope: 'profile',
    iat: now,
    exp: now + 300,
    jti: randomBytes(16).toString('base64url'),
    ...claims,
  };
  for (const [k, v] of Object.entries(payload)) if (v === undefined) delete payload[k];
  return payload;
}

export async function signWithServerKey(
  t: Test,
  claims: Record<string, unknown> = {},
  header: Record<string, unknown> = {},
): Promise<string> {
  const { kid, jwk } = await serverKey(t);
  return new SignJWT(accessTokenClaims(claims))
    .setProtectedHeader({ alg: 'ES256', typ: 'at+jwt', kid, ...header })
    .sign(await importJWK(jwk, 'ES256'));
}
