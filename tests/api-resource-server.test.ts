// The api as an OAuth resource server (oauth-checklist.md M4, S1-S13): the shared library in
// services/kit/src/resource-server.ts, proven against the running api. Tokens that differ from a
// valid one in one way are signed with the authorization server's own key (helpers/jwt.ts).
// S7 (key rotation) is in serial/key-rotation.test.ts: a rotation must not race other tests.
// Sources: RFC 9728, RFC 9068 §4, RFC 6750 §2-3, RFC 8725.
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import t, { type Test } from 'tap';
import { accessTokenClaims, serverKey, signWithServerKey } from './helpers/jwt.js';
import {
  API_RESOURCE,
  callApi,
  get,
  OTHER_RESOURCE,
  post,
  type Response,
  tokensFor,
} from './helpers/oauth.js';
import { stack } from './helpers/stack.js';

const s = stack();
const now = () => Math.floor(Date.now() / 1000);

function refused(t: Test, res: Response, what: string) {
  t.equal(res.status, 401, `${what}: 401`);
  t.match(
    res.headers['www-authenticate'],
    /^Bearer error="invalid_token", error_description="[^"]+", resource_metadata="[^"]+"$/,
    `${what}: invalid_token`,
  );
  t.equal(res.json.error, 'invalid_token');
}

t.test('M4 RFC 9728 §3.2: the api publishes its protected resource metadata', async (t) => {
  const res = await get(`${s.api}/.well-known/oauth-protected-resource`);
  t.equal(res.status, 200);
  t.match(res.json, {
    resource: API_RESOURCE,
    authorization_servers: [new URL(s.auth).origin],
    scopes_supported: Array,
    bearer_methods_supported: ['header'],
  });
  t.ok((res.json.scopes_supported as string[]).includes('profile'));
});

t.test(
  'smoke: S1 RFC 6750 §3.1: no token → 401 with WWW-Authenticate: Bearer resource_metadata, no error',
  async (t) => {
    const res = await callApi(undefined);
    t.equal(res.status, 401);
    t.equal(
      res.headers['www-authenticate'],
      `Bearer resource_metadata="${s.api}/.well-known/oauth-protected-resource"`,
    );
    t.type(res.json.error_description, 'string');
    const meta = await get(`${s.api}/.well-known/oauth-protected-resource`);
    t.equal(meta.status, 200, 'the resource_metadata URL answers');
  },
);

t.test(
  'S2 RFC 9068 §4: an expired token (past the 60 s leeway) → 401 invalid_token; inside the leeway it passes',
  async (t) => {
    refused(
      t,
      await callApi(await signWithServerKey(t, { exp: now() - 61, iat: now() - 400 })),
      'expired 61 s ago',
    );
    t.match(
      (await callApi(await signWithServerKey(t, { exp: now() - 120 }))).headers['www-authenticate'],
      /expired/,
    );
    // Not recorded by the server: the api would refuse it on introspection, so this one is checked locally only.
    const inLeeway = await callApi(await signWithServerKey(t, { exp: now() - 20, iat: now() - 320 }));
    t.match(
      inLeeway.headers['www-authenticate'] ?? '',
      /revoked/,
      'inside the leeway the signature checks pass; introspection decides',
    );
  },
);

t.test('S3 RFC 9068 §4: a token for another audience, or without aud → 401', async (t) => {
  refused(t, await callApi(await signWithServerKey(t, { aud: OTHER_RESOURCE })), 'another audience');
  refused(t, await callApi(await signWithServerKey(t, { aud: undefined })), 'no aud');
  const real = await tokensFor(t, { resource: OTHER_RESOURCE });
  refused(t, await callApi(real.tokens.access_token), 'a real token for the other resource');
});

t.test(
  'S4 RFC 8725 §3.1: alg none, HS256 keyed with the public key, a flipped signature byte → 401',
  async (t) => {
    const { tokens } = await tokensFor(t);
    const [header, payload, signature] = tokens.access_token.split('.') as [string, string, string];
    const none = `${Buffer.from(JSON.stringify({ alg: 'none', typ: 'at+jwt' })).toString('base64url')}.${payload}.`;
    refused(t, await callApi(none), 'alg none');
    const { jwk } = await serverKey(t);
    const publicKeyBytes = new TextEncoder().encode(
      JSON.stringify({ kty: jwk.kty, crv: jwk.crv, x: jwk.x, y: jwk.y }),
    );
    const hs = await new SignJWT(JSON.parse(Buffer.from(payload, 'base64url').toString()))
      .setProtectedHeader({ ...JSON.parse(Buffer.from(header, 'base64url').toString()), alg: 'HS256' })
      .sign(publicKeyBytes);
    refused(t, await callApi(hs), 'HS256 with the public key');
    const bytes = Buffer.from(signature, 'base64url');
    bytes[10] = (bytes[10] as number) ^ 0x01;
    refused(
      t,
      await callApi(`${header}.${payload}.${bytes.toString('base64url')}`),
      'a flipped signature byte',
    );
    t.equal((await callApi(tokens.access_token)).status, 200, 'the untouched token works');
  },
);

t.test('S5 RFC 9068 §4: typ other than at+jwt → 401', async (t) => {
  refused(t, await callApi(await signWithServerKey(t, {}, { typ: 'JWT' })), 'typ JWT');
  refused(t, await callApi(await signWithServerKey(t, {}, { typ: undefined })), 'no typ');
});

t.test('S6 RFC 9068 §4: a wrong iss → 401; jku, x5u and jwk headers are never followed', async (t) => {
  refused(t, await callApi(await signWithServerKey(t, { iss: 'http://127.0.0.1:1' })), 'wrong iss');
  const attacker = await generateKeyPair('ES256', { extractable: true });
  const attackerJwk = await exportJWK(attacker.publicKey);
  for (const extra of [
    { jwk: attackerJwk },
    { jku: 'http://127.0.0.1:1/jwks.json' },
    { x5u: 'http://127.0.0.1:1/cert.pem' },
  ]) {
    const token = await new SignJWT(accessTokenClaims())
      .setProtectedHeader({ alg: 'ES256', typ: 'at+jwt', kid: 'attacker', ...extra })
      .sign(attacker.privateKey);
    refused(t, await callApi(token), `header ${Object.keys(extra)[0]}`);
  }
});

t.test('S9 RFC 6750 §3.1: a missing scope → 403 insufficient_scope naming the scope', async (t) => {
  const { tokens } = await tokensFor(t, { scope: 'organisations:read' });
  const res = await callApi(tokens.access_token);
  t.equal(res.status, 403);
  t.match(
    res.headers['www-authenticate'],
    /^Bearer error="insufficient_scope", error_description="[^"]+", scope="profile", resource_metadata="/,
  );
  t.equal(res.json.error, 'insufficient_scope');
});

t.test(
  'S10 RFC 6750 §2: a token only in the query string is no token; the scheme is case-insensitive',
  async (t) => {
    const { tokens } = await tokensFor(t);
    const query = await get(`${s.api}/v1/me?access_token=${tokens.access_token}`);
    t.equal(query.status, 401);
    t.notMatch(query.headers['www-authenticate'], /error=/, 'treated as absent');
    t.equal((await callApi(tokens.access_token, '/v1/me', 'bEaReR')).status, 200);
  },
);

t.test('S13 a revoked access token → 401: the api introspects every token', async (t) => {
  const { client, tokens } = await tokensFor(t);
  t.equal((await callApi(tokens.access_token)).status, 200);
  await post('/revoke', { token: tokens.access_token, client_id: client.client_id });
  refused(t, await callApi(tokens.access_token), 'revoked');
});
