import { runService, text } from '../../kit/src/index.js';
import { admin } from './admin.js';
import { installErrorHandler } from './errors.js';
import { ensureSigningKey, publicKeys } from './keys.js';
import { serverMetadata } from './metadata.js';
import { migrations } from './migrations.js';
import { registration } from './registration.js';

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

const adminToken = (raw: string): string => {
  if (raw.length < 32) throw new Error('is too short: use at least 32 random characters');
  return raw;
};

/** How long an access token lives; a retired signing key stays published at least this long. */
const ACCESS_TOKEN_SECONDS = 300;

await runService({
  name: 'auth',
  schema: 'auth',
  migrations,
  config: {
    ISSUER: { parse: issuerUrl, hint: 'the URL clients reach this server at, e.g. http://127.0.0.1:4000' },
    REALSTACK_ADMIN_TOKEN: {
      parse: adminToken,
      hint: 'the admin API credential; `npx realstack up` generates one into .env',
    },
  },
  async register({ app, pool, config }) {
    installErrorHandler(app);
    await ensureSigningKey(pool);
    const metadata = serverMetadata(config.ISSUER);
    app.get('/.well-known/oauth-authorization-server', async () => metadata);
    app.get('/.well-known/jwks.json', async (_req, reply) => {
      reply.header('cache-control', 'public, max-age=60');
      return { keys: await publicKeys(pool, ACCESS_TOKEN_SECONDS) };
    });
    registration(app, pool, config.ISSUER);
    admin(app, pool, config.REALSTACK_ADMIN_TOKEN);
  },
});
