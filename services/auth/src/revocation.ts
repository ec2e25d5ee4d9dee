import type { FastifyInstance } from 'fastify';
import type pg from 'pg';
import { jsonError } from '../../kit/src/index.js';
import { authenticateClient } from './client-auth.js';
import { readAccessToken, revokeGrant } from './grants.js';
import type { FailureLimiter } from './rate-limit.js';
import { formParams, postOnly } from './token.js';
import { hashSecret } from './tokens.js';

/**
 * RFC 7009 token revocation. A refresh token revokes its whole grant (and so the access tokens
 * issued with it); an access token revokes itself. The answer is the same 200 whatever the
 * token was, so it tells nothing about tokens of other clients, which are never touched (V3, V4).
 */
export function revocation(
  app: FastifyInstance,
  pool: pg.Pool,
  options: { issuer: string; limiter: FailureLimiter },
) {
  postOnly(app, '/revoke');

  app.post('/revoke', async (request, reply) => {
    reply.header('cache-control', 'no-store');
    const params = formParams(request, reply);
    if (!params) return reply;
    const auth = await authenticateClient(pool, options.limiter, request.headers.authorization, params);
    if ('failure' in auth) {
      for (const [k, v] of Object.entries(auth.failure.headers)) reply.header(k, v);
      return jsonError(reply, auth.failure.status, auth.failure.error, auth.failure.description);
    }
    const token = params.get('token');
    if (token === undefined) return jsonError(reply, 400, 'invalid_request', 'token is required');
    const clientId = auth.client.client_id;

    const refresh = await pool.query<{ grant_id: string }>(
      `SELECT r.grant_id FROM auth.refresh_tokens r JOIN auth.grants g ON g.id = r.grant_id
       WHERE r.token_hash = $1 AND g.client_id = $2`,
      [hashSecret(token), clientId],
    );
    const grant = refresh.rows[0];
    if (grant) {
      await revokeGrant(pool, grant.grant_id);
    } else {
      const claims = await readAccessToken(pool, options.issuer, token);
      if (claims?.client_id === clientId) {
        await pool.query(
          'UPDATE auth.access_tokens SET revoked_at = now() WHERE jti = $1 AND revoked_at IS NULL',
          [claims.jti],
        );
      }
    }
    return reply.code(200).send();
  });
}
