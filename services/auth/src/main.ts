// First: a stop that comes while the service is still loading must not be ignored.
import '../../kit/src/starting.js';
import { installJsonErrors, runService, secret, text } from '../../kit/src/index.js';
import { admin } from './admin.js';
import { authorize } from './authorize.js';
import { LIFETIME } from './grants.js';
import { introspection } from './introspection.js';
import { ensureSigningKey, publicKeys } from './keys.js';
import { serverMetadata } from './metadata.js';
import { migrations } from './migrations.js';
import { DEFAULT_SCRYPT_N, Passwords, scryptCost } from './passwords.js';
import { FailureLimiter } from './rate-limit.js';
import { registration } from './registration.js';
import { revocation } from './revocation.js';
import { testData } from './test-data.js';
import { token } from './token.js';

/** An issuer is an https (or loopback http) URL without query or fragment (RFC 8414 §2). */
const issuerUrl = (raw: string): string => {
  const url = new URL(text(raw));
  const loopback = ['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname);
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && loopback)) {
    throw new Error('must be https, or http on a loopback host');
  }
  if (url.search || url.hash) throw new Error('must have no query and no fragment');
  return raw.replace(/\/$/, '');
};

/** RFC 8707 §2: resource indicators are absolute URIs without a fragment. */
const resourceList = (raw: string): string[] => {
  const list = raw.split(/\s+/).filter(Boolean);
  if (list.length === 0) throw new Error('must name at least one resource');
  for (const r of list)
    if (!URL.canParse(r) || r.includes('#'))
      throw new Error(`"${r}" is not an absolute URI without a fragment`);
  return list;
};

const SCOPES = ['profile', 'organisations:read', 'organisations:write'];
// Wrong client secrets or passwords: 5 per key and minute, then 429 until the minute is over.
const limiter = new FailureLimiter(5, 60_000);

await runService({
  name: 'auth',
  schema: 'auth',
  migrations,
  config: {
    ISSUER: { parse: issuerUrl, hint: 'the URL clients reach this server at, e.g. http://127.0.0.1:4000' },
    RESOURCES: {
      parse: resourceList,
      hint: 'space-separated resource URIs tokens may be issued for (RFC 8707); the first is the default',
    },
    REALSTACK_ADMIN_TOKEN: {
      parse: secret,
      hint: 'the admin API credential; `npx realstack up` generates one into .env',
    },
    REALSTACK_RESOURCE_SECRET: {
      parse: secret,
      hint: 'the resource servers’ introspection credential; `npx realstack up` generates one into .env',
    },
    PASSWORD_SCRYPT_N: {
      parse: scryptCost,
      default: String(DEFAULT_SCRYPT_N),
      hint: `scrypt's cost for new password hashes; ${DEFAULT_SCRYPT_N} unless a test stack wants faster sign-ins`,
    },
  },
  async register({ app, pool, config }) {
    installJsonErrors(app);
    // Form bodies are parsed by the routes (params.ts), which must see duplicated parameters.
    app.addContentTypeParser(
      'application/x-www-form-urlencoded',
      { parseAs: 'string', bodyLimit: 64 * 1024 },
      (_request, body, done) => done(null, body),
    );
    await ensureSigningKey(pool);
    const issuer = config.ISSUER;
    const metadata = serverMetadata(issuer, SCOPES);
    app.get('/.well-known/oauth-authorization-server', async () => metadata);
    app.get('/.well-known/jwks.json', async (_req, reply) => {
      reply.header('cache-control', 'public, max-age=60');
      return { keys: await publicKeys(pool, LIFETIME.accessToken) };
    });
    const passwords = new Passwords(config.PASSWORD_SCRYPT_N);
    registration(app, pool, issuer);
    authorize(app, pool, { issuer, resources: config.RESOURCES, scopes: SCOPES, limiter, passwords });
    token(app, pool, { issuer, limiter });
    revocation(app, pool, { issuer, limiter });
    introspection(app, pool, {
      issuer,
      resources: config.RESOURCES,
      resourceSecret: config.REALSTACK_RESOURCE_SECRET,
      limiter,
    });
    admin(app, pool, config.REALSTACK_ADMIN_TOKEN, passwords);
    testData(app, pool, config.REALSTACK_ADMIN_TOKEN);
  },
});
