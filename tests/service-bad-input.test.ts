// Bad input an independent fuzzer sent to both services (issue #14), each class refused in one
// place (services/kit/src/input.ts, errors.ts) with a 400 that names the field, and sent here to
// every api route that takes it: the routes come from the api's own OpenAPI document.
import net from 'node:net';
import t from 'tap';
import {
  Browser,
  form,
  hiddenField,
  location,
  newClient,
  newUser,
  pkce,
  post,
  sendJson,
} from './helpers/oauth.js';
import { stack } from './helpers/stack.js';
import { createOrganisation, newTenant } from './helpers/tenant.js';

const s = stack();
const admin = { authorization: `Bearer ${process.env.REALSTACK_ADMIN_TOKEN}` };
const VALID_ID = '00000000-0000-4000-8000-000000000000';

interface Operation {
  method: string;
  path: string;
  params: { name: string; in: string }[];
  body: string[];
}

/** Every operation of the api's OpenAPI document, with its path and query parameters and body fields. */
async function operations(): Promise<Operation[]> {
  const doc = (await sendJson('GET', `${s.api}/openapi.json`)).json as {
    paths: Record<
      string,
      Record<string, { parameters?: { name: string; in: string }[]; requestBody?: unknown }>
    >;
  };
  const ops: Operation[] = [];
  for (const [path, methods] of Object.entries(doc.paths))
    for (const [method, op] of Object.entries(methods)) {
      const schema = (op.requestBody as { content?: Record<string, { schema?: { properties?: object } }> })
        ?.content?.['application/json']?.schema;
      ops.push({
        method: method.toUpperCase(),
        path,
        params: op.parameters ?? [],
        body: Object.keys(schema?.properties ?? {}),
      });
    }
  return ops;
}

const fill = (path: string, value: string) => path.replace(/\{[^}]+\}/g, value);

t.test(
  'a NUL, a lone surrogate or a urn:uuid id reaches no api route as a 500: each is a 400 naming the field',
  async (t) => {
    const alice = await newTenant(t);
    const org = await createOrganisation(t, alice, 'Bad input');
    await alice.call('PUT', '/v1/active-organisation', { id: org.id });
    const ops = (await operations()).filter((o) => o.path.startsWith('/v1/'));
    t.ok(ops.length >= 15, `${ops.length} api operations`);
    let sent = 0;
    for (const op of ops) {
      const send = (path: string, body?: unknown) => alice.call(op.method, path, body);
      const label = `${op.method} ${op.path}`;
      if (/\{/.test(op.path)) {
        const nul = await send(fill(op.path, 'x%00'));
        t.equal(nul.status, 400, `${label} with %00 in the path`);
        t.match(nul.json.error_description, /^path\.\w+ holds a NUL character/);
        const urn = await send(fill(op.path, `urn:uuid:${VALID_ID}`));
        t.equal(urn.status, 400, `${label} with a urn:uuid id`);
        sent += 2;
      }
      for (const q of op.params.filter((p) => p.in === 'query')) {
        const res = await send(`${fill(op.path, VALID_ID)}?${q.name}=%00`);
        t.equal(res.status, 400, `${label}?${q.name}=%00`);
        t.match(res.json.error_description, `query.${q.name} holds a NUL character`);
        sent++;
      }
      for (const field of op.body) {
        for (const [what, value] of [
          ['NUL', 'x\u0000'],
          ['lone surrogate', 'x\ud800'],
        ] as const) {
          // Sent as the JSON text a client writes: \u0000 and \ud800 escapes, parsed by the service.
          const res = await alice.call(
            op.method,
            fill(op.path, VALID_ID),
            `{"${field}": ${JSON.stringify(value)}}`,
          );
          t.equal(res.status, 400, `${label} with a ${what} in ${field}`);
          t.match(
            res.json.error_description,
            new RegExp(`^body\\.${field} (holds a NUL|is not valid Unicode)`),
          );
          sent++;
        }
      }
    }
    t.ok(sent > 40, `${sent} bad requests, none a 500`);
  },
);

t.test('non-finite and out-of-range numbers in a page are a 400', async (t) => {
  const alice = await newTenant(t);
  for (const path of ['/v1/registers', '/v1/schemas', '/v1/objects', '/v1/organisations'])
    for (const q of [
      'limit=Infinity',
      'offset=Infinity',
      'limit=-Infinity',
      'limit=NaN',
      'offset=1e400',
      'limit=0',
    ]) {
      const res = await alice.call('GET', `${path}?${q}`);
      t.equal(res.status, 400, `${path}?${q}`);
      t.equal(res.json.error, 'invalid_request');
    }
});

t.test('JSON nested deeper than 32 levels is a 400, not a stack overflow', async (t) => {
  const alice = await newTenant(t);
  const org = await createOrganisation(t, alice, 'Deep');
  await alice.call('PUT', '/v1/active-organisation', { id: org.id });
  const deep = `${'{"a":'.repeat(10_000)}1${'}'.repeat(10_000)}`;
  for (const [path, body] of [
    ['/v1/objects', `{"name":"d","register":"${VALID_ID}","schema":"${VALID_ID}","data":${deep}}`],
    [
      '/v1/objects/bulk',
      `{"objects":[{"name":"d","register":"${VALID_ID}","schema":"${VALID_ID}","data":${deep}}]}`,
    ],
  ] as const) {
    const res = await alice.call('POST', path, body);
    t.equal(res.status, 400, `POST ${path}`);
    t.match(res.json.error_description, 'is nested deeper than 32 levels');
  }
});

t.test('auth: NUL and lone surrogates in its forms, JSON and query are 400s too', async (t) => {
  const users = await sendJson(
    'POST',
    `${s.auth}/admin/users`,
    { username: 'TEST x\ud800', password: 'long enough password' },
    admin,
  );
  t.equal(users.status, 400, 'a username with a lone surrogate (once stored as U+FFFD)');
  t.match(users.json.error_description, 'body.username is not valid Unicode');
  const nul = await sendJson(
    'POST',
    `${s.auth}/admin/users`,
    { username: 'TEST x\u0000', password: 'long enough password' },
    admin,
  );
  t.equal(nul.status, 400);
  const reg = await sendJson('POST', `${s.auth}/register`, {
    redirect_uris: ['http://127.0.0.1:8765/cb'],
    client_name: 'TEST \ud800',
  });
  t.equal(reg.status, 400, 'client metadata with a lone surrogate');
  const login = await post('/login', 'request=x&csrf=y&username=a%00b&password=p');
  t.equal(login.status, 400, 'the login form');
  t.match(login.json.error_description, 'body.username holds a NUL character');
  const token = await post('/token', { grant_type: 'authorization_code', code: 'a\u0000b' });
  t.equal(token.status, 400);
  const authorize = await sendJson('GET', `${s.auth}/authorize?client_id=%00`);
  t.equal(authorize.status, 400, '/authorize with %00');
});

t.test('PUT /register/{id} with a body that is not an object is a 400 (RFC 7592 §2.2)', async (t) => {
  const client = await newClient(t);
  for (const body of ['42', '"hello"', '1e400', '[]', 'null']) {
    const raw = await fetch(`${s.auth}/register/${client.client_id}`, {
      method: 'PUT',
      headers: {
        authorization: `Bearer ${client.registration_access_token}`,
        'content-type': 'application/json',
      },
      body,
    });
    t.equal(raw.status, 400, `PUT with ${body}`);
    t.match(
      await raw.json(),
      { error: /^invalid_(client_metadata|request)$/ },
      'a 400 of the protocol, not a TypeError',
    );
  }
});

t.test('a consent or login form with a field sent twice is a 400, whichever comes first', async (t) => {
  const client = await newClient(t);
  const user = await newUser(t);
  for (const order of [
    ['allow', 'deny'],
    ['deny', 'allow'],
  ]) {
    const browser = new Browser();
    const { challenge } = pkce();
    const start = await browser.get(
      `${s.auth}/authorize?${form({ response_type: 'code', client_id: client.client_id, redirect_uri: client.redirect_uris[0], code_challenge: challenge, code_challenge_method: 'S256', scope: 'profile', state: 's' })}`,
    );
    const page = await browser.get(location(start));
    const twice = await fetch(`${s.auth}/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: `${form({ request: hiddenField(page.text, 'request'), csrf: hiddenField(page.text, 'csrf'), username: user.username, password: user.password })}&username=other`,
    });
    t.equal(twice.status, 400, 'login: username twice');
    const logged = await browser.post('/login', {
      request: hiddenField(page.text, 'request'),
      csrf: hiddenField(page.text, 'csrf'),
      username: user.username,
      password: user.password,
    });
    const consent = await browser.get(location(logged));
    const fields = form({
      request: hiddenField(consent.text, 'request'),
      csrf: hiddenField(consent.text, 'csrf'),
    });
    const cookie = (logged.headers['set-cookie'] as string[] | string | undefined) ?? [];
    const answer = await fetch(`${s.auth}/consent`, {
      method: 'POST',
      redirect: 'manual',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        cookie: (Array.isArray(cookie) ? cookie : [cookie]).map((c) => c.split(';')[0]).join('; '),
      },
      body: `${fields}&decision=${order[0]}&decision=${order[1]}`,
    });
    t.equal(answer.status, 400, `consent: decision=${order.join('&decision=')}`);
    t.notOk(answer.headers.get('location')?.includes('code='), 'no code issued');
  }
});

t.test('requests HTTP itself finds wrong get an answer that says so, as JSON', async (t) => {
  const raw = (port: number, text: string) =>
    new Promise<string>((resolve) => {
      const socket = net.connect(port, '127.0.0.1', () => socket.write(text));
      let out = '';
      socket.on('data', (d) => {
        out += d;
      });
      socket.on('close', () => resolve(out));
      socket.on('error', () => resolve(out));
    });
  for (const base of [s.auth, s.api]) {
    const port = Number(new URL(base).port);
    const noHost = await raw(port, 'GET /health HTTP/1.1\r\nConnection: close\r\n\r\n');
    t.match(noHost, /^HTTP\/1\.1 400 /, `${base}: no Host`);
    t.match(noHost, /"error_description":"the Host header is missing/);
    const huge = await raw(
      port,
      `GET /health HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\nConnection: close\r\n\r\n`,
    );
    t.match(huge, /^HTTP\/1\.1 431 /, `${base}: headers over 16 KiB`);
    t.match(huge, /application\/json/);
  }
});

t.test('a user whose records a cleanup removed is treated as new, not a 500', async (t) => {
  const bob = await newTenant(t);
  t.equal((await bob.call('GET', '/v1/registers')).status, 200, 'seen once');
  // What `just test-cleanup` does to a test user's api records: here bob's alone (a run of nobody's).
  const removed = await sendJson(
    'POST',
    `${s.api}/admin/test-data/delete`,
    { run: 'nobodys', subjects: [bob.sub] },
    admin,
  );
  t.equal(removed.status, 200);
  for (const path of ['/v1/registers', '/v1/objects', '/v1/active-organisation']) {
    const res = await bob.call('GET', path);
    t.equal(res.status, 200, `GET ${path} after the cleanup`);
  }
  t.match(
    (await bob.call('GET', '/v1/active-organisation')).json,
    { id: String },
    'in an organisation again',
  );
});
