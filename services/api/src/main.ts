// First: a stop that comes while the service is still loading must not be ignored.
import '../../kit/src/starting.js';
import swagger from '@fastify/swagger';
import { installJsonErrors, resourceServer, runService, secret, text } from '../../kit/src/index.js';
import { ActiveOrganisationCache } from './active-cache.js';
import { activeOrganisation } from './active-organisation.js';
import { adminDeprovisioning } from './deprovision.js';
import { entities } from './entities.js';
import { knownUsers } from './known-users.js';
import { mcp } from './mcp.js';
import { migrations } from './migrations.js';
import { organisations } from './organisations.js';
import { testData } from './test-data.js';

const whole = (raw: string): number => {
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0) throw new Error('must be a whole number of milliseconds');
  return n;
};

const SCOPES = ['profile', 'organisations:read', 'organisations:write'];
const SCOPE_TEXT: Record<string, string> = {
  profile: 'who the token speaks for (GET /v1/me)',
  'organisations:read': 'read organisations, members, the active organisation and entities',
  'organisations:write': 'change them',
};

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
    REALSTACK_ADMIN_TOKEN: {
      parse: secret,
      hint: 'the admin API credential; `npx realstack up` generates one into .env',
    },
  },
  async register({ app, pool, config }) {
    installJsonErrors(app);
    // The OpenAPI document is built from the routes' own schemas, which also validate requests.
    await app.register(swagger, {
      openapi: {
        info: {
          title: 'realstack reference api',
          version: '0.1.0',
          description: 'Organisations (tenants) and their members; see docs/api.md.',
        },
        components: {
          securitySchemes: {
            oauth2: {
              type: 'oauth2',
              description: 'Access tokens of the auth service (RFC 9068 JWTs, audience this api)',
              flows: {
                authorizationCode: {
                  authorizationUrl: `${config.ISSUER}/authorize`,
                  tokenUrl: `${config.ISSUER}/token`,
                  scopes: Object.fromEntries(SCOPES.map((s) => [s, SCOPE_TEXT[s] ?? s])),
                },
              },
            },
          },
        },
      },
      // Each route says what it needs: the scope its preHandler checks, or nothing at all.
      transform: ({ schema, url, route }) => {
        const scope = (route.preHandler as { scope?: string } | undefined)?.scope;
        if (!schema || schema.security !== undefined) return { schema, url };
        const security = scope === undefined ? [] : [{ oauth2: scope ? [scope] : [] }];
        return { schema: { ...schema, security }, url };
      },
    });
    app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
    const { requireScope } = resourceServer(app, {
      resource: config.RESOURCE,
      issuer: config.ISSUER,
      authUrl: config.AUTH_URL,
      scopes: SCOPES,
      jwksCooldownMs: config.JWKS_COOLDOWN_MS,
      ...(config.REALSTACK_RESOURCE_SECRET ? { introspectionSecret: config.REALSTACK_RESOURCE_SECRET } : {}),
    });
    // Who the token speaks for.
    app.get(
      '/v1/me',
      {
        preHandler: requireScope('profile'),
        schema: {
          tags: ['identity'],
          summary: 'The subject, client and scope of the access token',
          response: {
            200: {
              type: 'object',
              properties: {
                sub: { type: 'string' },
                client_id: { type: 'string' },
                scope: { type: 'string' },
              },
            },
          },
        },
      },
      async (request) => ({
        sub: request.token?.sub,
        client_id: request.token?.client_id,
        scope: request.token?.scope,
      }),
    );
    const scopes = { read: requireScope('organisations:read'), write: requireScope('organisations:write') };
    organisations(app, pool, scopes, knownUsers(config.AUTH_URL, config.REALSTACK_ADMIN_TOKEN));
    const cache = new ActiveOrganisationCache();
    await cache.listen(config.DATABASE_URL, (err) =>
      app.log.error({ err }, 'active-organisation cache: listener lost; caching stops'),
    );
    app.addHook('onClose', () => cache.close());
    activeOrganisation(app, pool, cache, scopes);
    entities(app, pool, cache, scopes);
    mcp(app, scopes);
    testData(app, pool, config.REALSTACK_ADMIN_TOKEN);
    adminDeprovisioning(app, pool, config.REALSTACK_ADMIN_TOKEN);
  },
});
