import { resourceServer, runService, text } from '../../kit/src/index.js';
import { migrations } from './migrations.js';

const whole = (raw: string): number => {
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0) throw new Error('must be a whole number of milliseconds');
  return n;
};

const SCOPES = ['profile', 'organisations:read', 'organisations:write'];

await runService({
  name: 'api',
  schema: 'api',
  migrations,
  config: {
    ISSUER: { parse: text, hint: 'the authorization server’s issuer, e.g. http://127.0.0.1:4000' },
    AUTH_URL: {
      parse: text,
      hint: 'where this service reaches the authorization server, e.g. http://auth:3000',
    },
    RESOURCE: { parse: text, hint: 'this api’s resource identifier (RFC 8707), the audience of its tokens' },
    REALSTACK_RESOURCE_SECRET: {
      parse: (raw) => raw,
      default: '',
      hint: 'the introspection credential; when set, every token is also checked for revocation',
    },
    JWKS_COOLDOWN_MS: { parse: whole, default: '30000', hint: 'the shortest time between two JWKS fetches' },
  },
  register({ app, config }) {
    const { requireScope } = resourceServer(app, {
      resource: config.RESOURCE,
      issuer: config.ISSUER,
      authUrl: config.AUTH_URL,
      scopes: SCOPES,
      jwksCooldownMs: config.JWKS_COOLDOWN_MS,
      ...(config.REALSTACK_RESOURCE_SECRET ? { introspectionSecret: config.REALSTACK_RESOURCE_SECRET } : {}),
    });
    // Who the token speaks for; tenancy routes arrive with the api service issue.
    app.get('/v1/me', { preHandler: requireScope('profile') }, async (request) => ({
      sub: request.token?.sub,
      client_id: request.token?.client_id,
      scope: request.token?.scope,
    }));
  },
});
