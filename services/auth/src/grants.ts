import { randomBytes } from 'node:crypto';
import { type JWTPayload, jwtVerify, SignJWT } from 'jose';
import type pg from 'pg';
import { databaseUnavailable } from '../../kit/src/index.js';
import { activeSigningKey, SIGNING_ALG, verificationKey } from './keys.js';
import { hashSecret, newSecret } from './tokens.js';

/** Lifetimes, in seconds. A code must be redeemed at once (2.1 §4.1.2 allows at most 10 min). */
export const LIFETIME = { code: 60, accessToken: 300, refreshToken: 30 * 24 * 3600 } as const;

export interface Grant {
  id: string;
  client_id: string;
  user_id: string;
  scope: string;
  resource: string;
  revoked_at: Date | null;
}

type Db = pg.Pool | pg.PoolClient;

/** The user's consent becomes a grant, and a code bound to the request's redirect URI and PKCE challenge. */
export async function grantWithCode(
  db: Db,
  g: Omit<Grant, 'id' | 'revoked_at'> & { redirect_uri: string; code_challenge: string },
): Promise<string> {
  const code = newSecret();
  await db.query(
    `WITH g AS (
       INSERT INTO auth.grants (client_id, user_id, scope, resource) VALUES ($1, $2, $3, $4) RETURNING id
     )
     INSERT INTO auth.codes (code_hash, grant_id, redirect_uri, code_challenge, expires_at)
     SELECT $5, id, $6, $7, now() + make_interval(secs => $8) FROM g`,
    [
      g.client_id,
      g.user_id,
      g.scope,
      g.resource,
      hashSecret(code),
      g.redirect_uri,
      g.code_challenge,
      LIFETIME.code,
    ],
  );
  return code;
}

/** Revokes a grant: its refresh tokens and access tokens stop working together. */
export async function revokeGrant(db: Db, grantId: string): Promise<void> {
  await db.query('UPDATE auth.grants SET revoked_at = now() WHERE id = $1 AND revoked_at IS NULL', [grantId]);
}

export interface TokenResponse {
  access_token: string;
  token_type: 'Bearer';
  expires_in: number;
  scope: string;
  refresh_token?: string;
}

/**
 * An RFC 9068 JWT access token for `scope` (the grant's or narrower) and, when the client may
 * refresh, a new refresh token of the same grant. The jti is recorded so that revoking the grant,
 * or the token, is visible to introspection.
 */
export async function issueTokens(
  db: Db,
  issuer: string,
  grant: Grant,
  scope: string,
  withRefresh: boolean,
): Promise<TokenResponse> {
  const jti = randomBytes(16).toString('base64url');
  const { kid, key } = await activeSigningKey(db);
  const now = Math.floor(Date.now() / 1000);
  const accessToken = await new SignJWT({ client_id: grant.client_id, scope })
    .setProtectedHeader({ alg: SIGNING_ALG, typ: 'at+jwt', kid })
    .setIssuer(issuer)
    .setSubject(grant.user_id)
    .setAudience(grant.resource)
    .setIssuedAt(now)
    .setExpirationTime(now + LIFETIME.accessToken)
    .setJti(jti)
    .sign(key);
  await db.query(
    'INSERT INTO auth.access_tokens (jti, grant_id, expires_at) VALUES ($1, $2, to_timestamp($3))',
    [jti, grant.id, now + LIFETIME.accessToken],
  );
  const response: TokenResponse = {
    access_token: accessToken,
    token_type: 'Bearer',
    expires_in: LIFETIME.accessToken,
    scope,
  };
  if (withRefresh) {
    const refresh = newSecret();
    await db.query(
      `INSERT INTO auth.refresh_tokens (token_hash, grant_id, expires_at)
       VALUES ($1, $2, now() + make_interval(secs => $3))`,
      [hashSecret(refresh), grant.id, LIFETIME.refreshToken],
    );
    response.refresh_token = refresh;
  }
  return response;
}

export interface AccessTokenClaims extends JWTPayload {
  jti: string;
  sub: string;
  client_id: string;
  scope: string;
  exp: number;
}

/** The claims of an access token this server issued, if it is one and has not expired. */
export async function readAccessToken(
  pool: pg.Pool,
  issuer: string,
  token: string,
): Promise<AccessTokenClaims | undefined> {
  try {
    const { payload } = await jwtVerify<AccessTokenClaims>(
      token,
      async (header) => {
        const key = header.kid ? await verificationKey(pool, header.kid, LIFETIME.accessToken) : undefined;
        if (!key) throw new Error('unknown kid');
        return key;
      },
      { issuer, algorithms: [SIGNING_ALG], typ: 'at+jwt', requiredClaims: ['jti', 'sub', 'aud', 'exp'] },
    );
    return payload;
  } catch (err) {
    // A database that cannot answer is not a bad token: the caller gets a 503, not "inactive".
    if (databaseUnavailable(err as Error)) throw err;
    return undefined;
  }
}
