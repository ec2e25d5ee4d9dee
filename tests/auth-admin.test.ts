// The auth service's admin API for users (POST /admin/users, GET /admin/users?id=,
// DELETE /admin/users/{username}),
// against the running stack, with the admin token realstack generated into .env.
import pg from 'pg';
import t from 'tap';
import { request } from 'undici';
import { DEFAULT_SCRYPT_N, Passwords } from '../services/auth/src/passwords.js';
import { authorizeAs, authorizeUrl, Browser, newClient, pkce } from './helpers/oauth.js';
import { stack } from './helpers/stack.js';

const s = stack();
const token = process.env.REALSTACK_ADMIN_TOKEN as string;
const admin = { authorization: `Bearer ${token}` };

async function call(
  method: 'POST' | 'GET' | 'DELETE',
  path: string,
  body?: unknown,
  headers: Record<string, string> = admin,
) {
  const res = await request(`${s.auth}${path}`, {
    method,
    headers: { ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...headers },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await res.body.text();
  return {
    status: res.statusCode,
    headers: res.headers,
    body: text ? (JSON.parse(text) as Record<string, unknown>) : {},
  };
}

t.test('the admin token reaches the tests from .env, as realstack generated it', async (t) => {
  t.ok(token && token.length >= 32, 'REALSTACK_ADMIN_TOKEN is set');
});

t.test('an admin creates a user, stored with a scrypt hash only, and deletes it', async (t) => {
  const username = `TEST ${s.runId} alice`.replaceAll(' ', '_');
  const created = await call('POST', '/admin/users', { username, password: 'correct horse battery' });
  t.equal(created.status, 201);
  t.match(
    created.body,
    { id: /^[0-9a-f-]{36}$/, username, created_at: String },
    'the id is the sub of their tokens',
  );
  t.teardown(() => call('DELETE', `/admin/users/${encodeURIComponent(username)}`));

  const db = new pg.Client({ connectionString: s.postgres });
  await db.connect();
  t.teardown(() => db.end());
  const row = (await db.query('SELECT password_hash FROM auth.users WHERE username = $1', [username]))
    .rows[0];
  t.match(row?.password_hash, /^scrypt\$\d+\$8\$1\$[\w-]{22}\$[\w-]{43}$/, 'scrypt, with its parameters');
  // The compose file's cost for a development and test stack, unless the environment sets one.
  t.equal(row?.password_hash.split('$')[1], process.env.PASSWORD_SCRYPT_N ?? '1024', 'at the stack’s cost');
  t.notMatch(row?.password_hash, 'correct horse', 'never the password');

  const again = await call('POST', '/admin/users', { username, password: 'another password' });
  t.equal(again.status, 409);
  t.equal(again.body.error, 'user_exists');

  t.equal((await call('DELETE', `/admin/users/${encodeURIComponent(username)}`)).status, 204);
  const gone = await call('DELETE', `/admin/users/${encodeURIComponent(username)}`);
  t.equal(gone.status, 404);
  t.equal(gone.body.error, 'not_found');
});

t.test('without the admin token, or with another, nothing happens: 401', async (t) => {
  for (const headers of [
    {},
    { authorization: 'Bearer not-the-token' },
    { authorization: `Basic ${token}` },
  ] as Record<string, string>[]) {
    const res = await call(
      'POST',
      '/admin/users',
      { username: `TEST_${s.runId}_mallory`, password: 'long enough pw' },
      headers,
    );
    t.equal(res.status, 401, JSON.stringify(Object.keys(headers)));
    t.equal(res.body.error, 'invalid_token');
  }
  const probe = await call('DELETE', `/admin/users/TEST_${s.runId}_mallory`, undefined, {});
  t.equal(probe.status, 401);
});

t.test('bad user bodies are 400 invalid_request with what to fix', async (t) => {
  for (const body of [
    {},
    { username: '', password: 'long enough pw' },
    { username: 'a b', password: 'long enough pw' },
    { username: `TEST_${s.runId}_bob`, password: 'short' },
    { username: 5, password: 'long enough pw' },
  ]) {
    const res = await call('POST', '/admin/users', body);
    t.equal(res.status, 400, JSON.stringify(body));
    t.match(res.body, { error: 'invalid_request', error_description: /username|password/ });
  }
});

t.test('who an id is: the user, 404 for an unknown id, 400 for no id, 401 without the token', async (t) => {
  const username = `TEST ${s.runId} lookup`.replaceAll(' ', '_');
  const created = await call('POST', '/admin/users', { username, password: 'correct horse battery' });
  t.teardown(() => call('DELETE', `/admin/users/${username}`));
  const id = created.body.id as string;
  const found = await call('GET', `/admin/users?id=${id}`);
  t.equal(found.status, 200);
  t.match(found.body, { id, username, created_at: String });
  t.equal((await call('GET', '/admin/users?id=00000000-0000-4000-8000-000000000000')).status, 404);
  const bad = await call('GET', '/admin/users?id=alice');
  t.equal(bad.status, 400);
  t.match(bad.body.error_description, 'give ?id=, a user id');
  t.equal((await call('GET', `/admin/users?id=${id}`, undefined, {})).status, 401);
});

t.test('a user whose hash was made at another cost signs in: the cost travels with the hash', async (t) => {
  // As a deployment's service (the default cost) stored it, read by this stack's service.
  const user = {
    username: `TEST ${s.runId} carol`.replaceAll(' ', '_'),
    password: 'correct horse battery',
  };
  const hash = await new Passwords(DEFAULT_SCRYPT_N).hash(user.password);
  t.match(hash, `scrypt$${DEFAULT_SCRYPT_N}$8$1$`);
  const db = new pg.Client({ connectionString: s.postgres });
  await db.connect();
  t.teardown(() => db.end());
  const id = (
    await db.query('INSERT INTO auth.users (username, password_hash) VALUES ($1, $2) RETURNING id::text', [
      user.username,
      hash,
    ])
  ).rows[0]?.id as string;
  t.teardown(() => call('DELETE', `/admin/users/${encodeURIComponent(user.username)}`));

  const client = await newClient(t);
  const { challenge } = pkce();
  const url = authorizeUrl(client, {
    code_challenge: challenge,
    code_challenge_method: 'S256',
    scope: 'profile',
    state: 's1',
  });
  const back = await authorizeAs(new Browser(), url, { ...user, id });
  t.ok(back.searchParams.get('code'), 'signed in and consented: a code');
  await t.rejects(
    authorizeAs(new Browser(), url, { ...user, id, password: 'wrong horse battery' }),
    /login answered 401/,
    'a wrong password is still refused',
  );
});
