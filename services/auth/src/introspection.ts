import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type pg from 'pg';
import { jsonError } from '../../kit/src/index.js';
import { basicCredentials } from './client-auth.js';
import { readAccessToken } from './grants.js';
import type { FailureLimiter } from './rate-limit.js';
import { formParams, postOnly } from './token.js';
import { hashSecret, secretMatches } from './tokens.js';

export interface IntrospectionOptions {
  issuer: string;
  /** The resource servers allowed to ask, each authenticating as Basic <resource URI>:<secret>. */
  resources: string[];
  resourceSecret: string;
  limiter: FailureLimiter;
}

/**
 * RFC 7662 introspection for resource servers. A caller authenticates as one of the resources
 * this server issues tokens for and learns only about tokens for itself: any other token,
 * like an expired, revoked or unknown one, is exactly `{"active":false}` (I3).
 */
export function introspection(app: FastifyInstance, pool: pg.Pool, options: IntrospectionOptions) {
  postOnly(app, '/introspect');
  const expected = hashSecret(options.resourceSecret);

  /** The resource the caller authenticated as, or undefined once a 401/429 is sent. */
  function caller(request: FastifyRequest, reply: FastifyReply): string | undefined {
    const basic = basicCredentials(request.headers.authorization ?? '');
    const wait = basic ? options.limiter.retryAfter(`resource:${basic.id}`) : 0;
    if (wait > 0) {
      jsonError(
        reply.header('retry-after', String(wait)),
        429,
        'invalid_client',
        `too many failed authentications; retry in ${wait} s`,
      );
      return undefined;
    }
    if (basic && options.resources.includes(basic.id) && secretMatches(basic.secret, expected)) {
      options.limiter.succeed(`resource:${basic.id}`);
      return basic.id;
    }
    if (basic) options.limiter.fail(`resource:${basic.id}`);
    jsonError(
      reply.header('www-authenticate', 'Basic realm="introspection"'),
      401,
      'invalid_client',
      'introspection is for resource servers: authenticate with Basic <resource URI>:<resource secret>',
    );
    return undefined;
  }

  app.post('/introspect', async (request, reply) => {
    reply.header('cache-control', 'no-store');
    const params = formParams(request, reply);
    if (!params) return reply;
    const resource = caller(request, reply);
    if (!resource) return reply;
    const token = params.get('token');
    if (token === undefined) return jsonError(reply, 400, 'invalid_request', 'token is required');

    const claims = await readAccessToken(pool, options.issuer, token);
    if (!claims || claims.aud !== resource) return { active: false };
    const live = await pool.query(
      `SELECT 1 FROM auth.access_tokens a JOIN auth.grants g ON g.id = a.grant_id
       WHERE a.jti = $1 AND a.revoked_at IS NULL AND g.revoked_at IS NULL`,
      [claims.jti],
    );
    if (live.rowCount === 0) return { active: false };
    return {
      active: true,
      token_type: 'Bearer',
      scope: claims.scope,
      client_id: claims.client_id,
      sub: claims.sub,
      aud: claims.aud,
      iss: claims.iss,
      exp: claims.exp,
      iat: claims.iat,
      jti: claims.jti,
    };
  });
}
