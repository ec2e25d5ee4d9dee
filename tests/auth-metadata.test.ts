// The auth service's metadata and keys, against the running stack (oauth-checklist.md M1, M3).
import t from 'tap';
import { request } from 'undici';
import { stack } from './helpers/stack.js';

const s = stack();

async function getJson(url: string) {
  const res = await request(url);
  return {
    status: res.statusCode,
    headers: res.headers,
    body: (await res.body.json()) as Record<string, unknown>,
  };
}

t.test(
  'smoke: M1 RFC 8414 §3: metadata names the issuer it was fetched from and every endpoint',
  async (t) => {
    const { status, body } = await getJson(`${s.auth}/.well-known/oauth-authorization-server`);
    t.equal(status, 200);
    // §3.3: the issuer must be identical to the one the metadata URL was built from.
    t.equal(body.issuer, s.auth);
    for (const [field, path] of [
      ['authorization_endpoint', '/authorize'],
      ['token_endpoint', '/token'],
      ['registration_endpoint', '/register'],
      ['revocation_endpoint', '/revoke'],
      ['introspection_endpoint', '/introspect'],
      ['jwks_uri', '/.well-known/jwks.json'],
    ]) {
      t.equal(body[field as string], `${s.auth}${path}`, field);
    }
    t.same(body.response_types_supported, ['code']);
    t.same(body.code_challenge_methods_supported, ['S256'], 'S256 only');
    t.same(
      body.grant_types_supported,
      ['authorization_code', 'refresh_token'],
      'explicit, no implicit or password',
    );
    t.ok(Array.isArray(body.token_endpoint_auth_methods_supported), 'token endpoint auth methods listed');
    t.equal(body.authorization_response_iss_parameter_supported, true, 'RFC 9207');
  },
);

t.test('M3 the JWKS holds public keys only, each with a unique kid', async (t) => {
  const meta = await getJson(`${s.auth}/.well-known/oauth-authorization-server`);
  const { status, body } = await getJson(meta.body.jwks_uri as string);
  t.equal(status, 200);
  const keys = body.keys as Record<string, unknown>[];
  t.ok(keys.length >= 1, 'at least the active key');
  t.equal(new Set(keys.map((k) => k.kid)).size, keys.length, 'kids are unique');
  for (const key of keys) {
    t.match(key, { kty: 'EC', crv: 'P-256', alg: 'ES256', use: 'sig' });
    for (const secret of ['d', 'p', 'q', 'dp', 'dq', 'qi', 'k'])
      t.notOk(secret in key, `no private member "${secret}"`);
  }
});
