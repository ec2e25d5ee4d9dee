import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { createRemoteJWKSet, customFetch, errors, type JWTPayload, jwtVerify } from 'jose';
import { askAuthorizationServer } from './authorization-server.js';

export interface ResourceServerOptions {
  /** This server's resource identifier (RFC 8707): the audience its tokens must carry. */
  resource: string;
  /** The authorization server's issuer, as it appears in `iss`. */
  issuer: string;
  /** Where this server reaches the authorization server (in a compose network: http://auth:3000). */
  authUrl: string;
  /** The introspection credential; with it, every token is also checked for revocation (S13). */
  introspectionSecret?: string;
  scopes: string[];
  /** The shortest time between two JWKS fetches for an unknown kid (S7). */
  jwksCooldownMs: number;
}

export interface AccessToken extends JWTPayload {
  sub: string;
  client_id: string;
  scope: string;
}

declare module 'fastify' {
  interface FastifyRequest {
    token?: AccessToken;
  }
}

// RFC 9068 §4: the algorithms the authorization server signs with, and nothing else (no "none",
// no HMAC with a public key as the secret).
const ALGORITHMS = ['ES256'];
// RFC 9068 §4 lets a resource server tolerate a little clock skew; a minute at most (S2).
const LEEWAY_SECONDS = 60;

class Unauthorized extends Error {}

/**
 * The resource-server half of OAuth (checklist S lines) as a fastify plugin: RFC 9728 metadata,
 * RFC 9068 JWT validation against the issuer's JWKS, optional RFC 7662 introspection, and the
 * RFC 6750 `WWW-Authenticate` answers. Routes opt in with `preHandler: requireScope('x')`.
 */
export function resourceServer(app: FastifyInstance, options: ResourceServerOptions) {
  const authUrl = options.authUrl.replace(/\/$/, '');
  const jwks = createRemoteJWKSet(new URL(`${authUrl}/.well-known/jwks.json`), {
    cooldownDuration: options.jwksCooldownMs,
    // Through the one caller of the authorization server: unreachable or a 5xx is the caller's
    // 503, where jose's own fetch would make it a 401 ("not a valid token") or a 500.
    [customFetch]: (url: string, init: RequestInit) =>
      askAuthorizationServer(url, init, 'fetch its signing keys (JWKS)'),
  });

  // Public: a client reads it before it has a token (security: none, in the OpenAPI document).
  app.get(
    '/.well-known/oauth-protected-resource',
    { schema: { security: [], summary: 'RFC 9728 protected resource metadata' } },
    async () => ({
      resource: options.resource,
      authorization_servers: [options.issuer],
      scopes_supported: options.scopes,
      bearer_methods_supported: ['header'],
      resource_signing_alg_values_supported: ALGORITHMS,
    }),
  );

  // Where a client finds the metadata: this server, as the client reached it.
  const metadataUrl = (request: FastifyRequest) =>
    `${request.protocol}://${request.host}/.well-known/oauth-protected-resource`;

  const quote = (s: string) => `"${s.replace(/["\\]/g, '')}"`;
  const challenge = (
    request: FastifyRequest,
    reply: FastifyReply,
    status: number,
    fields: Record<string, string>,
  ) => {
    const params = Object.entries({ ...fields, resource_metadata: metadataUrl(request) })
      .map(([k, v]) => `${k}=${quote(v)}`)
      .join(', ');
    return reply
      .code(status)
      .header('www-authenticate', `Bearer ${params}`)
      .header('cache-control', 'no-store')
      .send({
        error: fields.error ?? 'unauthorized',
        error_description:
          fields.error_description ?? 'send an access token as Authorization: Bearer <token>',
      });
  };

  async function verify(token: string): Promise<AccessToken> {
    let payload: AccessToken;
    try {
      ({ payload } = await jwtVerify<AccessToken>(token, jwks, {
        issuer: options.issuer,
        audience: options.resource,
        algorithms: ALGORITHMS,
        typ: 'at+jwt',
        clockTolerance: LEEWAY_SECONDS,
        requiredClaims: ['iss', 'aud', 'exp', 'sub', 'client_id', 'jti'],
      }));
    } catch (err) {
      if (err instanceof errors.JOSEError) throw new Unauthorized(describe(err));
      throw err;
    }
    if (options.introspectionSecret && !(await active(token))) throw new Unauthorized('the token is revoked');
    return payload;
  }

  async function active(token: string): Promise<boolean> {
    const basic = Buffer.from(
      `${encodeURIComponent(options.resource)}:${encodeURIComponent(options.introspectionSecret ?? '')}`,
    ).toString('base64');
    const res = await askAuthorizationServer(
      `${authUrl}/introspect`,
      {
        method: 'POST',
        headers: { authorization: `Basic ${basic}`, 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ token }).toString(),
      },
      'check the token',
    );
    return ((await res.json()) as { active?: unknown }).active === true;
  }

  /**
   * A preHandler: a valid token, holding `scope` when given, or the RFC 6750 answer. The scope
   * rides on the function, so the OpenAPI document can say what each route needs.
   */
  function requireScope(scope?: string) {
    const check = async (request: FastifyRequest, reply: FastifyReply) => {
      // RFC 6750 §2.1 only (S10): a token in the query string or the body counts as no token.
      const m = /^bearer\s+([A-Za-z0-9\-._~+/]+=*)$/i.exec(request.headers.authorization ?? '');
      if (!m) return challenge(request, reply, 401, {});
      try {
        request.token = await verify(m[1] as string);
      } catch (err) {
        if (!(err instanceof Unauthorized)) throw err;
        return challenge(request, reply, 401, { error: 'invalid_token', error_description: err.message });
      }
      if (scope && !request.token.scope?.split(' ').includes(scope)) {
        return challenge(request, reply, 403, {
          error: 'insufficient_scope',
          error_description: `this needs the scope "${scope}"`,
          scope,
        });
      }
    };
    return Object.assign(check, { scope: scope ?? '' });
  }

  return { requireScope };
}

function describe(err: errors.JOSEError): string {
  if (err instanceof errors.JWTExpired) return 'the token has expired';
  if (err instanceof errors.JWTClaimValidationFailed)
    return `the token's "${err.claim}" claim is not accepted (${err.reason})`;
  if (err instanceof errors.JWKSNoMatchingKey)
    return 'the token is signed with a key the issuer does not publish';
  if (err instanceof errors.JOSEAlgNotAllowed)
    return 'the token is signed with an algorithm that is not accepted';
  if (err instanceof errors.JWSSignatureVerificationFailed) return 'the token signature is not valid';
  return 'the token is not a valid access token';
}
