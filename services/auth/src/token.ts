import { createHash } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type pg from 'pg';
import { jsonError, transaction } from '../../kit/src/index.js';
import { authenticateClient, type Client } from './client-auth.js';
import { type Grant, issueTokens, revokeGrant } from './grants.js';
import { formBody, type Params, parseParams, queryOf, singleValued } from './params.js';
import type { FailureLimiter } from './rate-limit.js';
import { hashSecret } from './tokens.js';

export interface TokenOptions {
  issuer: string;
  limiter: FailureLimiter;
}

/** A token request that cannot be granted: status 400 unless said otherwise (RFC 6749 §5.2). */
class GrantError extends Error {
  constructor(
    readonly error: string,
    message: string,
  ) {
    super(message);
  }
}

const s256 = (verifier: string) => createHash('sha256').update(verifier).digest('base64url');

/**
 * The form body of a token, revocation or introspection request, or an error already sent:
 * RFC 6749 §3.2 asks for application/x-www-form-urlencoded, no query parameters, and no
 * parameter twice (checklist C7, C8).
 */
export function formParams(request: FastifyRequest, reply: FastifyReply): Params | undefined {
  const body = formBody(request);
  if (body === undefined) {
    const type = request.headers['content-type'] ?? 'nothing';
    jsonError(
      reply,
      400,
      'invalid_request',
      `send the parameters as application/x-www-form-urlencoded, not ${type}`,
    );
    return undefined;
  }
  if (queryOf(request.url) !== '') {
    jsonError(reply, 400, 'invalid_request', 'parameters belong in the body, not in the query string');
    return undefined;
  }
  return singleValued(parseParams(body), reply);
}

/** GET and other methods on a POST-only endpoint: 405 with Allow (checklist C6). */
export function postOnly(app: FastifyInstance, path: string): void {
  app.route({
    method: ['GET', 'PUT', 'PATCH', 'DELETE'],
    url: path,
    handler: (request, reply) =>
      jsonError(
        reply.header('allow', 'POST'),
        405,
        'invalid_request',
        `${path} accepts POST only, not ${request.method}`,
      ),
  });
}

/** The token endpoint (OAuth 2.1 §3.2): authorization_code with PKCE, and refresh_token with rotation. */
export function token(app: FastifyInstance, pool: pg.Pool, options: TokenOptions): void {
  postOnly(app, '/token');

  app.post('/token', async (request, reply) => {
    reply.header('cache-control', 'no-store').header('pragma', 'no-cache');
    const params = formParams(request, reply);
    if (!params) return reply;
    const grantType = params.get('grant_type');
    if (grantType === undefined) return jsonError(reply, 400, 'invalid_request', 'grant_type is required');
    if (grantType !== 'authorization_code' && grantType !== 'refresh_token') {
      return jsonError(
        reply,
        400,
        'unsupported_grant_type',
        `grant_type "${grantType}" is not supported here`,
      );
    }
    const auth = await authenticateClient(pool, options.limiter, request.headers.authorization, params);
    if ('failure' in auth) {
      const f = auth.failure;
      for (const [k, v] of Object.entries(f.headers)) reply.header(k, v);
      return jsonError(reply, f.status, f.error, f.description);
    }
    if (!auth.client.metadata.grant_types.includes(grantType)) {
      return jsonError(
        reply,
        400,
        'unauthorized_client',
        `this client is not registered for the ${grantType} grant`,
      );
    }
    try {
      const body =
        grantType === 'authorization_code'
          ? await redeemCode(auth.client, params)
          : await refresh(auth.client, params);
      return reply.send(body);
    } catch (err) {
      if (err instanceof GrantError) return jsonError(reply, 400, err.error, err.message);
      throw err;
    }
  });

  const canRefresh = (client: Client) => client.metadata.grant_types.includes('refresh_token');

  const checkResource = (params: Params, grant: Grant) => {
    const resource = params.get('resource');
    if (resource !== undefined && resource !== grant.resource) {
      throw new GrantError('invalid_target', `resource "${resource}" is not the one this grant is for`);
    }
  };

  /**
   * Every check that does not depend on the code having been used comes first, so a replay
   * with a wrong verifier or by another client is refused without revoking anything (T6); a
   * replay that would otherwise succeed revokes the tokens of the first redemption (T5).
   */
  async function redeemCode(client: Client, params: Params) {
    const code = params.get('code');
    if (code === undefined) throw new GrantError('invalid_request', 'code is required');
    const verifier = params.get('code_verifier');
    const redirectUri = params.get('redirect_uri');
    // A detected replay revokes, and that must survive the error: errors are returned, not thrown.
    const outcome = await transaction(pool, async (db) => {
      const row = (
        await db.query<
          Grant & { redirect_uri: string; code_challenge: string; expired: boolean; redeemed: boolean }
        >(
          `SELECT g.*, c.redirect_uri, c.code_challenge, c.expires_at <= now() AS expired,
                  c.redeemed_at IS NOT NULL AS redeemed
           FROM auth.codes c JOIN auth.grants g ON g.id = c.grant_id
           WHERE c.code_hash = $1 FOR UPDATE OF c`,
          [hashSecret(code)],
        )
      ).rows[0];
      if (!row || row.client_id !== client.client_id)
        return { error: 'the code is not valid for this client' };
      if (verifier === undefined) return { error: 'code_verifier is required (PKCE)' };
      if (s256(verifier) !== row.code_challenge)
        return { error: 'code_verifier does not match the code_challenge' };
      // §4.1.3: identical to the authorization request's; it may be left out only where the
      // request could leave it out, a client with one registered redirect URI.
      const sameRedirect =
        redirectUri === undefined
          ? client.metadata.redirect_uris.length === 1
          : redirectUri === row.redirect_uri;
      if (!sameRedirect) return { error: 'redirect_uri must be the one of the authorization request' };
      if (row.expired) return { error: 'the code has expired' };
      if (row.redeemed) {
        await revokeGrant(db, row.id);
        return { error: 'the code was used already; the tokens issued for it are revoked' };
      }
      if (row.revoked_at) return { error: 'the grant of this code is revoked' };
      checkResource(params, row);
      await db.query('UPDATE auth.codes SET redeemed_at = now() WHERE code_hash = $1', [hashSecret(code)]);
      return { tokens: await issueTokens(db, options.issuer, row, row.scope, canRefresh(client)) };
    });
    if ('error' in outcome) throw new GrantError('invalid_grant', outcome.error as string);
    return outcome.tokens;
  }

  /**
   * Refresh token rotation (OAuth 2.1 §4.3.1, RFC 9700 §4.14.2): each refresh token works once;
   * presenting a rotated-out one means two parties hold it, so the whole grant is revoked.
   * The row lock makes concurrent refreshes of one token queue: the first wins, the second is a reuse.
   */
  async function refresh(client: Client, params: Params) {
    const presented = params.get('refresh_token');
    if (presented === undefined) throw new GrantError('invalid_request', 'refresh_token is required');
    const outcome = await transaction(pool, async (db) => {
      const row = (
        await db.query<Grant & { expired: boolean; rotated: boolean }>(
          `SELECT g.*, r.expires_at <= now() AS expired, r.rotated_at IS NOT NULL AS rotated
           FROM auth.refresh_tokens r JOIN auth.grants g ON g.id = r.grant_id
           WHERE r.token_hash = $1 FOR UPDATE OF r, g`,
          [hashSecret(presented)],
        )
      ).rows[0];
      if (!row || row.client_id !== client.client_id)
        return { error: 'the refresh token is not valid for this client' };
      if (row.revoked_at) return { error: 'the refresh token is revoked' };
      if (row.rotated) {
        await revokeGrant(db, row.id);
        return { error: 'the refresh token was used already; every token of its grant is revoked' };
      }
      if (row.expired) return { error: 'the refresh token has expired' };
      checkResource(params, row);
      const scope = params.get('scope') ?? row.scope;
      const granted = row.scope.split(' ');
      const wider = scope.split(' ').filter((s) => !granted.includes(s));
      if (wider.length > 0)
        throw new GrantError('invalid_scope', `scope beyond the grant: ${wider.join(' ')}`);
      await db.query('UPDATE auth.refresh_tokens SET rotated_at = now() WHERE token_hash = $1', [
        hashSecret(presented),
      ]);
      return { tokens: await issueTokens(db, options.issuer, row, scope, true) };
    });
    if ('error' in outcome) throw new GrantError('invalid_grant', outcome.error as string);
    return outcome.tokens;
  }
}
