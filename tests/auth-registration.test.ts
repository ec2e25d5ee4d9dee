// Dynamic client registration (RFC 7591) and management (RFC 7592) against the running auth
// service: oauth-checklist.md D1-D6, G1-G6. Every client is named "TEST <run id> ..." and
// deleted in teardown through the management API itself.
import t, { type Test } from 'tap';
import { request } from 'undici';
import { authorizeUrl, codeFor, get, newClient, pkce, redeem } from './helpers/oauth.js';
import { stack } from './helpers/stack.js';

const s = stack();
const redirect = 'http://127.0.0.1:8765/callback';

interface Registered {
  client_id: string;
  client_secret?: string;
  registration_access_token: string;
  registration_client_uri: string;
  [key: string]: unknown;
}

async function call(
  method: 'GET' | 'POST' | 'PUT' | 'DELETE',
  url: string,
  body?: unknown,
  headers: Record<string, string> = {},
) {
  const res = await request(url, {
    method,
    headers: { ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...headers },
    ...(body !== undefined ? { body: typeof body === 'string' ? body : JSON.stringify(body) } : {}),
  });
  const text = await res.body.text();
  return {
    status: res.statusCode,
    headers: res.headers,
    body: text ? (JSON.parse(text) as Record<string, unknown>) : {},
  };
}

/** Registers a client for one test and deletes it when the test ends. */
async function register(t: Test, metadata: Record<string, unknown>): Promise<Registered> {
  const res = await call('POST', `${s.auth}/register`, {
    client_name: `TEST ${s.runId} ${t.name}`,
    ...metadata,
  });
  if (res.status !== 201) throw new Error(`registration failed: ${JSON.stringify(res.body)}`);
  const client = res.body as unknown as Registered;
  t.teardown(async () => {
    await call('DELETE', client.registration_client_uri, undefined, {
      authorization: `Bearer ${client.registration_access_token}`,
    });
  });
  return client;
}

const auth = (c: Registered) => ({ authorization: `Bearer ${c.registration_access_token}` });

t.test(
  'D1 RFC 7591 §3.2.1: a public client gets 201, no-store, a client_id, its metadata, and no secret',
  async (t) => {
    const res = await call('POST', `${s.auth}/register`, {
      client_name: `TEST ${s.runId} D1`,
      redirect_uris: [redirect],
      token_endpoint_auth_method: 'none',
      grant_types: ['authorization_code', 'refresh_token'],
    });
    t.equal(res.status, 201);
    t.equal(res.headers['cache-control'], 'no-store');
    const c = res.body as unknown as Registered;
    t.teardown(() => call('DELETE', c.registration_client_uri, undefined, auth(c)));
    t.match(c, {
      client_id: /^[\w-]{43}$/,
      client_name: `TEST ${s.runId} D1`,
      redirect_uris: [redirect],
      token_endpoint_auth_method: 'none',
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
    });
    t.notOk('client_secret' in c, 'no secret for a public client');
  },
);

t.test('D2 a confidential client gets a secret, its expiry, a registration token and URI', async (t) => {
  const c = await register(t, {
    redirect_uris: [redirect],
    token_endpoint_auth_method: 'client_secret_basic',
  });
  t.match(c.client_secret, /^[\w-]{43}$/, '256 bits (X2 asks at least 128)');
  t.equal(c.client_secret_expires_at, 0, 'never expires');
  t.match(c.registration_access_token, /^[\w-]{43}$/);
  t.equal(c.registration_client_uri, `${s.auth}/register/${c.client_id}`);
});

t.test('D3 a body that is not JSON → 400 invalid_request', async (t) => {
  for (const [body, type] of [
    ['redirect_uris=x', 'application/x-www-form-urlencoded'],
    ['{"redirect_uris": [', 'application/json'],
    ['just text', 'text/plain'],
  ]) {
    const res = await call('POST', `${s.auth}/register`, body, { 'content-type': type as string });
    t.equal(res.status, 400, `${type}: ${body}`);
    t.match(res.body, { error: 'invalid_request', error_description: String });
  }
});

t.test(
  'D4 fragment, relative, wildcard, plain http off loopback, or no redirect URI → 400 invalid_redirect_uri',
  async (t) => {
    for (const uris of [
      ['https://app.example/cb#x'],
      ['/callback'],
      ['https://*.example/cb'],
      ['http://app.example/cb'],
      ['javascript:alert(1)'],
      ['ftp://app.example/cb'],
      [],
      undefined,
    ]) {
      const res = await call('POST', `${s.auth}/register`, {
        client_name: `TEST ${s.runId} D4`,
        redirect_uris: uris,
      });
      t.equal(res.status, 400, JSON.stringify(uris));
      t.equal(res.body.error, 'invalid_redirect_uri', JSON.stringify(uris));
      t.type(res.body.error_description, 'string');
    }
  },
);

t.test(
  'D5 password or implicit grants, token responses, unknown auth methods → 400 invalid_client_metadata',
  async (t) => {
    for (const extra of [
      { grant_types: ['password'] },
      { grant_types: ['implicit'] },
      { response_types: ['token'] },
      { token_endpoint_auth_method: 'private_key_jwt_with_a_twist' },
    ]) {
      const res = await call('POST', `${s.auth}/register`, {
        client_name: `TEST ${s.runId} D5`,
        redirect_uris: [redirect],
        ...extra,
      });
      t.equal(res.status, 400, JSON.stringify(extra));
      t.equal(res.body.error, 'invalid_client_metadata', JSON.stringify(extra));
    }
  },
);

t.test('D6 a client_id chosen by the client is ignored', async (t) => {
  const c = await register(t, {
    client_id: 'i-choose-my-id',
    redirect_uris: [redirect],
    token_endpoint_auth_method: 'none',
  });
  t.not(c.client_id, 'i-choose-my-id');
});

t.test('G1 RFC 7592 §2.1: GET with the registration access token → 200 and the metadata', async (t) => {
  const c = await register(t, { redirect_uris: [redirect], token_endpoint_auth_method: 'none' });
  const res = await call('GET', c.registration_client_uri, undefined, auth(c));
  t.equal(res.status, 200);
  t.equal(res.headers['cache-control'], 'no-store');
  t.match(res.body, {
    client_id: c.client_id,
    redirect_uris: [redirect],
    client_name: `TEST ${s.runId} ${t.name}`,
  });
  t.notOk('registration_access_token' in res.body, 'the token is not handed out again');
});

t.test('G2 a missing or wrong registration token → 401 invalid_token', async (t) => {
  const c = await register(t, { redirect_uris: [redirect], token_endpoint_auth_method: 'none' });
  const attempts: Record<string, string>[] = [
    {},
    { authorization: 'Bearer wrong-token' },
    { authorization: `Basic ${c.registration_access_token}` },
  ];
  for (const headers of attempts) {
    const res = await call('GET', c.registration_client_uri, undefined, headers);
    t.equal(res.status, 401, JSON.stringify(headers));
    t.equal(res.body.error, 'invalid_token');
    t.match(res.headers['www-authenticate'], /^Bearer error="invalid_token"/);
  }
});

t.test("G3 client A's token on client B → 401", async (t) => {
  const a = await register(t, { redirect_uris: [redirect], token_endpoint_auth_method: 'none' });
  const b = await register(t, { redirect_uris: [redirect], token_endpoint_auth_method: 'none' });
  for (const method of ['GET', 'PUT', 'DELETE'] as const) {
    const res = await call(
      method,
      b.registration_client_uri,
      method === 'PUT' ? { client_id: b.client_id, redirect_uris: [redirect] } : undefined,
      auth(a),
    );
    t.equal(res.status, 401, method);
  }
  t.equal((await call('GET', b.registration_client_uri, undefined, auth(b))).status, 200, 'B is untouched');
});

t.test('G4 PUT replaces the metadata', async (t) => {
  const c = await register(t, {
    redirect_uris: [redirect],
    token_endpoint_auth_method: 'none',
    scope: 'openid',
  });
  const next = 'http://127.0.0.1:9876/other';
  const res = await call(
    'PUT',
    c.registration_client_uri,
    {
      client_id: c.client_id,
      client_name: `TEST ${s.runId} G4 renamed`,
      redirect_uris: [next],
      token_endpoint_auth_method: 'none',
    },
    auth(c),
  );
  t.equal(res.status, 200);
  t.match(res.body, { redirect_uris: [next], client_name: `TEST ${s.runId} G4 renamed` });
  t.notOk('scope' in res.body, 'an omitted field is gone: the request replaces, it does not merge');
  const after = await call('GET', c.registration_client_uri, undefined, auth(c));
  t.same(after.body.redirect_uris, [next]);
});

t.test('G5 PUT with read-only fields → 400', async (t) => {
  const c = await register(t, {
    redirect_uris: [redirect],
    token_endpoint_auth_method: 'client_secret_post',
  });
  for (const field of [
    'client_secret',
    'registration_access_token',
    'client_id_issued_at',
    'client_secret_expires_at',
    'registration_client_uri',
  ]) {
    const res = await call(
      'PUT',
      c.registration_client_uri,
      {
        client_id: c.client_id,
        redirect_uris: [redirect],
        token_endpoint_auth_method: 'client_secret_post',
        [field]: 'x',
      },
      auth(c),
    );
    t.equal(res.status, 400, field);
    t.equal(res.body.error, 'invalid_client_metadata', field);
  }
  const other = await call(
    'PUT',
    c.registration_client_uri,
    { client_id: 'another', redirect_uris: [redirect] },
    auth(c),
  );
  t.equal(other.status, 400, 'client_id must be its own');
});

t.test('RFC 7591 §2: software_id stays the same across updates; a PUT must repeat it', async (t) => {
  const c = await register(t, {
    redirect_uris: [redirect],
    token_endpoint_auth_method: 'none',
    software_id: `TEST ${s.runId}`,
  });
  t.equal(c.software_id, `TEST ${s.runId}`, 'registered and returned');
  const put = (software_id?: string) =>
    call(
      'PUT',
      c.registration_client_uri,
      {
        client_id: c.client_id,
        redirect_uris: [redirect],
        token_endpoint_auth_method: 'none',
        ...(software_id !== undefined ? { software_id } : {}),
      },
      auth(c),
    );
  for (const [label, res] of [
    ['changed', await put('another')],
    ['left out', await put()],
  ] as const) {
    t.equal(res.status, 400, label);
    t.equal(res.body.error, 'invalid_client_metadata', label);
    t.match(res.body.error_description, `software_id cannot change (it is "TEST ${s.runId}")`, label);
  }
  t.equal((await put(`TEST ${s.runId}`)).status, 200, 'repeated: accepted');
});

t.test('G6 DELETE → 204; the client and its registration token are gone', async (t) => {
  const res = await call('POST', `${s.auth}/register`, {
    client_name: `TEST ${s.runId} G6`,
    redirect_uris: [redirect],
    token_endpoint_auth_method: 'none',
  });
  const c = res.body as unknown as Registered;
  const del = await call('DELETE', c.registration_client_uri, undefined, auth(c));
  t.equal(del.status, 204);
  t.equal(
    (await call('GET', c.registration_client_uri, undefined, auth(c))).status,
    401,
    'the token no longer opens anything',
  );
  t.equal(
    (await call('DELETE', c.registration_client_uri, undefined, auth(c))).status,
    401,
    'a second delete is refused',
  );
});

t.test(
  'G6 after DELETE the client fails at /authorize (an error page) and at /token (401 invalid_client)',
  async (t) => {
    const client = await newClient(t);
    const { code, verifier } = await codeFor(t, client);
    const del = await call(
      'DELETE',
      client.registration_client_uri,
      undefined,
      auth(client as unknown as Registered),
    );
    t.equal(del.status, 204);
    const page = await get(
      authorizeUrl(client, {
        code_challenge: pkce().challenge,
        code_challenge_method: 'S256',
        scope: 'profile',
      }),
    );
    t.equal(page.status, 400, '/authorize shows an error page');
    t.notOk(page.headers.location, 'and redirects nowhere');
    const token = await redeem(client, code, verifier);
    t.equal(token.status, 401);
    t.equal(token.json.error, 'invalid_client');
  },
);

t.test(
  'G4 a PUT is validated like a registration, and cannot change the authentication method',
  async (t) => {
    const c = await register(t, { redirect_uris: [redirect], token_endpoint_auth_method: 'none' });
    const base = { client_id: c.client_id, token_endpoint_auth_method: 'none' };
    const bad = await call(
      'PUT',
      c.registration_client_uri,
      { ...base, redirect_uris: ['http://app.example/cb'] },
      auth(c),
    );
    t.equal(bad.status, 400);
    t.equal(bad.body.error, 'invalid_redirect_uri');
    const method = await call(
      'PUT',
      c.registration_client_uri,
      { ...base, redirect_uris: [redirect], token_endpoint_auth_method: 'client_secret_basic' },
      auth(c),
    );
    t.equal(method.status, 400);
    t.equal(method.body.error, 'invalid_client_metadata');
    t.match(method.body.error_description, /token_endpoint_auth_method cannot change/);
    t.same(
      (await call('GET', c.registration_client_uri, undefined, auth(c))).body.redirect_uris,
      [redirect],
      'unchanged',
    );
  },
);
