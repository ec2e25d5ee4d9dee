// The token endpoint (oauth-checklist.md T1-T10, C1-C10) over real HTTP. Sources: OAuth 2.1
// draft 16 §3.2 and §4.1.3, RFC 7636 §4.6, RFC 6749 §2.3.1 and §5.2, RFC 8707 §2.2.
import { createHash } from 'node:crypto';
import pg from 'pg';
import t, { type Test } from 'tap';
import { request } from 'undici';
import {
  API_RESOURCE,
  basic,
  callApi,
  codeFor,
  form,
  get,
  newClient,
  OTHER_RESOURCE,
  post,
  type Response,
  redeem,
  refresh,
} from './helpers/oauth.js';
import { stack } from './helpers/stack.js';

const s = stack();

function oauthError(t: Test, res: Response, status: number, error: string) {
  t.equal(res.status, status, `${error}: ${status}`);
  t.equal(res.json.error, error);
  t.type(res.json.error_description, 'string', 'with a description');
  t.match(res.headers['content-type'], /^application\/json/, 'JSON (C10)');
  t.equal(res.headers['cache-control'], 'no-store', 'no-store (C10)');
}

const confidential = (t: Test, method = 'client_secret_basic') =>
  newClient(t, { token_endpoint_auth_method: method });

t.test(
  'T1 2.1 §3.2.3: code + verifier from a public client → 200 JSON, no-store, a Bearer token, expiry, scope, refresh token',
  async (t) => {
    const client = await newClient(t);
    const { code, verifier } = await codeFor(t, client);
    const res = await redeem(client, code, verifier);
    t.equal(res.status, 200);
    t.match(res.headers['content-type'], /^application\/json/);
    t.equal(res.headers['cache-control'], 'no-store');
    t.match(res.json, {
      access_token: /^[\w-]+\.[\w-]+\.[\w-]+$/,
      token_type: 'Bearer',
      expires_in: Number,
      scope: 'profile organisations:read',
      refresh_token: /^[\w-]{43}$/,
    });
    const [header, payload] = (res.json.access_token as string)
      .split('.')
      .slice(0, 2)
      .map((p) => JSON.parse(Buffer.from(p, 'base64url').toString()));
    t.match(header, { alg: 'ES256', typ: 'at+jwt', kid: String }, 'RFC 9068 §2.1 header');
    t.match(
      payload,
      {
        iss: new URL(s.auth).origin,
        aud: API_RESOURCE,
        sub: String,
        client_id: client.client_id,
        scope: 'profile organisations:read',
        exp: Number,
        iat: Number,
        jti: String,
      },
      'RFC 9068 §2.2 claims',
    );
    t.ok(payload.exp - payload.iat <= 600, 'short-lived');
  },
);

t.test('T2 RFC 7636 §4.6: a wrong verifier → invalid_grant', async (t) => {
  const client = await newClient(t);
  const { code } = await codeFor(t, client);
  oauthError(t, await redeem(client, code, 'x'.repeat(43)), 400, 'invalid_grant');
});

t.test('T3 2.1 §4.1.3: the verifier omitted → invalid_grant', async (t) => {
  const client = await newClient(t);
  const { code } = await codeFor(t, client);
  oauthError(t, await redeem(client, code, undefined), 400, 'invalid_grant');
});

t.test(
  'T4 a verifier without a challenge cannot arise: no code is issued without a challenge (see A2)',
  async (t) => {
    const client = await newClient(t);
    const res = await post(
      '/token',
      form({
        grant_type: 'authorization_code',
        code: 'never-issued',
        code_verifier: 'v'.repeat(43),
        redirect_uri: client.redirect_uris[0],
        client_id: client.client_id,
      }),
    );
    oauthError(t, res, 400, 'invalid_grant');
  },
);

t.test(
  'T5 2.1 §4.1.3: a code redeemed twice → invalid_grant, and the first redemption’s tokens are revoked',
  async (t) => {
    const client = await newClient(t);
    const { code, verifier } = await codeFor(t, client);
    const first = await redeem(client, code, verifier);
    t.equal(first.status, 200);
    t.equal((await callApi(first.json.access_token as string)).status, 200, 'the first access token works');
    oauthError(t, await redeem(client, code, verifier), 400, 'invalid_grant');
    t.equal(
      (await callApi(first.json.access_token as string)).status,
      401,
      'the first access token is revoked',
    );
    oauthError(t, await refresh(client, first.json.refresh_token as string), 400, 'invalid_grant');
  },
);

t.test('T6 a failed replay (wrong verifier, another client) revokes nothing', async (t) => {
  const client = await newClient(t);
  const other = await newClient(t);
  const { code, verifier } = await codeFor(t, client);
  const first = await redeem(client, code, verifier);
  oauthError(t, await redeem(client, code, 'y'.repeat(43)), 400, 'invalid_grant');
  oauthError(t, await redeem(other, code, verifier), 400, 'invalid_grant');
  t.equal((await callApi(first.json.access_token as string)).status, 200, 'the tokens still work');
  t.equal((await refresh(client, first.json.refresh_token as string)).status, 200);
});

t.test('T7 client B redeeming A’s code → invalid_grant, and A can still redeem it', async (t) => {
  const a = await newClient(t);
  const b = await newClient(t);
  const { code, verifier } = await codeFor(t, a);
  oauthError(t, await redeem(b, code, verifier), 400, 'invalid_grant');
  t.equal((await redeem(a, code, verifier)).status, 200);
});

t.test('T8 an expired code → invalid_grant', async (t) => {
  const client = await newClient(t);
  const { code, verifier } = await codeFor(t, client);
  const db = new pg.Client({ connectionString: s.postgres });
  await db.connect();
  t.teardown(() => db.end());
  // Time passes in the database: the code's expiry moves into the past.
  const hash = createHash('sha256').update(code).digest('base64url');
  await db.query(`UPDATE auth.codes SET expires_at = now() - interval '1 second' WHERE code_hash = $1`, [
    hash,
  ]);
  oauthError(t, await redeem(client, code, verifier), 400, 'invalid_grant');
});

t.test(
  'T9 2.1 §4.1.3: a redirect_uri differing from the authorization request’s → invalid_grant',
  async (t) => {
    const client = await newClient(t, {
      redirect_uris: ['http://127.0.0.1:8765/callback', 'http://127.0.0.1:8765/other'],
    });
    const { code, verifier } = await codeFor(t, client);
    oauthError(
      t,
      await redeem(client, code, verifier, { redirect_uri: 'http://127.0.0.1:8765/other' }),
      400,
      'invalid_grant',
    );
    oauthError(
      t,
      await post('/token', {
        grant_type: 'authorization_code',
        code,
        code_verifier: verifier,
        client_id: client.client_id,
      }),
      400,
      'invalid_grant',
    );
    t.equal((await redeem(client, code, verifier)).status, 200, 'the right one works');
  },
);

t.test('T10 RFC 8707 §2.2: a resource outside the grant → invalid_target', async (t) => {
  const client = await newClient(t);
  const { code, verifier } = await codeFor(t, client, { resource: API_RESOURCE });
  oauthError(t, await redeem(client, code, verifier, { resource: OTHER_RESOURCE }), 400, 'invalid_target');
  t.equal((await redeem(client, code, verifier, { resource: API_RESOURCE })).status, 200);
});

t.test(
  'C1 RFC 6749 §5.2: a wrong secret via Basic → 401 invalid_client with WWW-Authenticate: Basic',
  async (t) => {
    const client = await confidential(t);
    const { code, verifier } = await codeFor(t, client);
    const res = await post(
      '/token',
      {
        grant_type: 'authorization_code',
        code,
        code_verifier: verifier,
        redirect_uri: client.redirect_uris[0],
      },
      basic(client.client_id, 'wrong'),
    );
    oauthError(t, res, 401, 'invalid_client');
    t.match(res.headers['www-authenticate'], /^Basic/);
    const ok = await post(
      '/token',
      {
        grant_type: 'authorization_code',
        code,
        code_verifier: verifier,
        redirect_uri: client.redirect_uris[0],
      },
      basic(client.client_id, client.client_secret as string),
    );
    t.equal(ok.status, 200, 'the right secret works');
  },
);

t.test('C2 client_secret_post works', async (t) => {
  const client = await confidential(t, 'client_secret_post');
  const { code, verifier } = await codeFor(t, client);
  const res = await redeem(client, code, verifier, { client_secret: client.client_secret as string });
  t.equal(res.status, 200);
});

t.test('C3 RFC 6749 §2.3: two authentication methods at once → 400', async (t) => {
  const client = await confidential(t);
  const res = await post(
    '/token',
    { grant_type: 'refresh_token', refresh_token: 'x', client_secret: client.client_secret },
    basic(client.client_id, client.client_secret as string),
  );
  oauthError(t, res, 400, 'invalid_request');
});

t.test(
  'C4 no secret from a confidential client, an unknown client, a secret from a public client → 401',
  async (t) => {
    const secretive = await confidential(t, 'client_secret_post');
    const pub = await newClient(t);
    const body = { grant_type: 'refresh_token', refresh_token: 'x' };
    oauthError(t, await post('/token', { ...body, client_id: secretive.client_id }), 401, 'invalid_client');
    oauthError(t, await post('/token', { ...body, client_id: 'nobody' }), 401, 'invalid_client');
    oauthError(
      t,
      await post('/token', { ...body, client_id: pub.client_id, client_secret: 'made-up' }),
      401,
      'invalid_client',
    );
    oauthError(t, await post('/token', body, basic(pub.client_id, 'made-up')), 401, 'invalid_client');
    oauthError(t, await post('/token', body), 401, 'invalid_client');
    const malformed = { authorization: `Basic ${Buffer.from('a%ZZ:b').toString('base64')}` };
    const res = await post('/token', body, malformed);
    oauthError(t, res, 401, 'invalid_client');
    t.match(
      res.headers['www-authenticate'],
      /^Basic/,
      'unreadable Basic credentials are answered with Basic',
    );
  },
);

t.test('C6 GET on /token, /revoke, /introspect → 405 with Allow: POST', async (t) => {
  for (const path of ['/token', '/revoke', '/introspect']) {
    const res = await get(`${s.auth}${path}`);
    t.equal(res.status, 405, path);
    t.equal(res.headers.allow, 'POST');
    t.equal(res.json.error, 'invalid_request');
  }
});

t.test('C7 a JSON body, or parameters in the query string → 400 invalid_request', async (t) => {
  const client = await newClient(t);
  const json = await request(`${s.auth}/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ grant_type: 'refresh_token', refresh_token: 'x', client_id: client.client_id }),
  });
  t.equal(json.statusCode, 400);
  t.equal(((await json.body.json()) as { error: string }).error, 'invalid_request');
  const query = await post(`/token?grant_type=refresh_token&client_id=${client.client_id}`, {
    refresh_token: 'x',
  });
  oauthError(t, query, 400, 'invalid_request');
  const plain = await request(`${s.auth}/token`, {
    method: 'POST',
    headers: { 'content-type': 'text/plain' },
    body: 'grant_type=refresh_token',
  });
  t.equal(plain.statusCode, 400, 'text/plain is refused too');
  t.equal(((await plain.body.json()) as { error: string }).error, 'invalid_request');
});

t.test('C8 RFC 6749 §3.2: a duplicated parameter → 400', async (t) => {
  const client = await newClient(t);
  oauthError(
    t,
    await post(
      '/token',
      `grant_type=refresh_token&refresh_token=a&refresh_token=b&client_id=${client.client_id}`,
    ),
    400,
    'invalid_request',
  );
});

t.test(
  'C9 RFC 6749 §5.2: an unknown grant → unsupported_grant_type; a grant the client did not register → unauthorized_client',
  async (t) => {
    const client = await newClient(t, { grant_types: ['authorization_code'] });
    for (const grant_type of [
      'password',
      'client_credentials',
      'urn:ietf:params:oauth:grant-type:device_code',
    ]) {
      oauthError(
        t,
        await post('/token', { grant_type, client_id: client.client_id }),
        400,
        'unsupported_grant_type',
      );
    }
    oauthError(t, await refresh(client, 'x'), 400, 'unauthorized_client');
    oauthError(t, await post('/token', { client_id: client.client_id }), 400, 'invalid_request');
  },
);

t.test('C10 every token response, success or error, is JSON with Cache-Control: no-store', async (t) => {
  const client = await newClient(t);
  const { code, verifier } = await codeFor(t, client);
  const ok = await redeem(client, code, verifier);
  t.equal(ok.headers['cache-control'], 'no-store');
  t.match(ok.headers['content-type'], /^application\/json/);
  for (const res of [await redeem(client, 'nope', verifier), await post('/token', 'x'.repeat(70 * 1024))]) {
    t.equal(res.headers['cache-control'], 'no-store', `no-store on ${res.status}`);
    t.match(res.headers['content-type'], /^application\/json/);
    t.type(res.json.error, 'string');
  }
});
