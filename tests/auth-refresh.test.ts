// Refresh tokens, revocation and introspection (oauth-checklist.md R1-R6, V1-V4, I1-I3) over
// real HTTP. Sources: OAuth 2.1 draft 16 §4.3, RFC 9700 §4.14.2, RFC 7009, RFC 7662.
import { createHash } from 'node:crypto';
import pg from 'pg';
import t, { type Test } from 'tap';
import { signWithServerKey } from './helpers/jwt.js';
import {
  API_RESOURCE,
  basic,
  callApi,
  introspect,
  newClient,
  OTHER_RESOURCE,
  post,
  type Response,
  refresh,
  tokensFor,
} from './helpers/oauth.js';
import { stack } from './helpers/stack.js';

const s = stack();

function invalidGrant(t: Test, res: Response, what: string) {
  t.equal(res.status, 400, `${what}: 400`);
  t.equal(res.json.error, 'invalid_grant', `${what}: invalid_grant`);
}

async function database(t: Test) {
  const db = new pg.Client({ connectionString: s.postgres });
  await db.connect();
  t.teardown(() => db.end());
  return db;
}
const hash = (secret: string) => createHash('sha256').update(secret).digest('base64url');

t.test(
  'R1 2.1 §4.3.1: a refresh rotates: new access and refresh tokens, and the old refresh token is dead',
  async (t) => {
    const { client, tokens } = await tokensFor(t);
    const res = await refresh(client, tokens.refresh_token);
    t.equal(res.status, 200);
    t.equal(res.headers['cache-control'], 'no-store');
    t.not(res.json.refresh_token, tokens.refresh_token, 'a new refresh token');
    t.not(res.json.access_token, tokens.access_token, 'a new access token');
    t.equal(res.json.scope, tokens.scope);
    const again = await refresh(client, res.json.refresh_token as string);
    t.equal(again.status, 200, 'the new one works once');
  },
);

t.test(
  'R2 RFC 9700 §4.14.2: reusing a rotated-out refresh token → invalid_grant and the whole family is revoked',
  async (t) => {
    const { client, tokens } = await tokensFor(t);
    const rotated = await refresh(client, tokens.refresh_token);
    invalidGrant(t, await refresh(client, tokens.refresh_token), 'the old token again');
    invalidGrant(
      t,
      await refresh(client, rotated.json.refresh_token as string),
      'the newest token of the family',
    );
    t.equal(
      (await callApi(rotated.json.access_token as string)).status,
      401,
      'the family’s access token is refused',
    );
  },
);

t.test(
  'R2 the refresh race: two concurrent refreshes of one token, exactly one wins, and the family dies',
  async (t) => {
    const { client, tokens } = await tokensFor(t);
    const results = await Promise.all([
      refresh(client, tokens.refresh_token),
      refresh(client, tokens.refresh_token),
    ]);
    const winners = results.filter((r) => r.status === 200);
    t.equal(winners.length, 1, 'exactly one racer wins');
    invalidGrant(t, results.find((r) => r.status !== 200) as Response, 'the loser');
    const winner = winners[0] as Response;
    invalidGrant(t, await refresh(client, winner.json.refresh_token as string), 'the winner’s refresh token');
    t.equal((await callApi(winner.json.access_token as string)).status, 401, 'the winner’s access token');
  },
);

t.test('R3 client A’s refresh token used by client B → invalid_grant, and A keeps it', async (t) => {
  const { client, tokens } = await tokensFor(t);
  const other = await newClient(t);
  invalidGrant(t, await refresh(other, tokens.refresh_token), 'client B');
  t.equal((await refresh(client, tokens.refresh_token)).status, 200, 'client A still can');
});

t.test('R4 2.1 §4.3.1: a narrower scope is allowed, a wider one is invalid_scope', async (t) => {
  const { client, tokens } = await tokensFor(t);
  const wider = await refresh(client, tokens.refresh_token, { scope: 'profile organisations:write' });
  t.equal(wider.status, 400);
  t.equal(wider.json.error, 'invalid_scope');
  const narrower = await refresh(client, tokens.refresh_token, { scope: 'profile' });
  t.equal(narrower.status, 200, 'a refused request does not use the token up');
  t.equal(narrower.json.scope, 'profile');
  const back = await refresh(client, narrower.json.refresh_token as string);
  t.equal(back.json.scope, 'profile organisations:read', 'the grant keeps its full scope');
});

t.test('R5 RFC 8707 §2.2: a resource outside the grant → invalid_target', async (t) => {
  const { client, tokens } = await tokensFor(t);
  const res = await refresh(client, tokens.refresh_token, { resource: OTHER_RESOURCE });
  t.equal(res.status, 400);
  t.equal(res.json.error, 'invalid_target');
  t.equal((await refresh(client, tokens.refresh_token, { resource: API_RESOURCE })).status, 200);
});

t.test('R6 an expired, revoked or tampered refresh token → invalid_grant', async (t) => {
  const { client, tokens } = await tokensFor(t);
  const tampered = `${tokens.refresh_token.slice(0, -1)}${tokens.refresh_token.endsWith('A') ? 'B' : 'A'}`;
  invalidGrant(t, await refresh(client, tampered), 'tampered');
  const db = await database(t);
  await db.query(
    `UPDATE auth.refresh_tokens SET expires_at = now() - interval '1 second' WHERE token_hash = $1`,
    [hash(tokens.refresh_token)],
  );
  invalidGrant(t, await refresh(client, tokens.refresh_token), 'expired');
  const other = await tokensFor(t);
  await post('/revoke', { token: other.tokens.refresh_token, client_id: other.client.client_id });
  invalidGrant(t, await refresh(other.client, other.tokens.refresh_token), 'revoked');
});

t.test(
  'V1 RFC 7009 §2.1: revoking a refresh token kills it and the access tokens of its grant',
  async (t) => {
    const { client, tokens } = await tokensFor(t);
    const res = await post('/revoke', {
      token: tokens.refresh_token,
      token_type_hint: 'refresh_token',
      client_id: client.client_id,
    });
    t.equal(res.status, 200);
    invalidGrant(t, await refresh(client, tokens.refresh_token), 'the refresh token');
    t.equal((await callApi(tokens.access_token)).status, 401, 'the access token');
  },
);

t.test('V2 a revoked access token: introspection says active:false and the api answers 401', async (t) => {
  const { client, tokens } = await tokensFor(t);
  t.equal((await introspect(tokens.access_token)).json.active, true, 'active before');
  t.equal((await post('/revoke', { token: tokens.access_token, client_id: client.client_id })).status, 200);
  t.same((await introspect(tokens.access_token)).json, { active: false });
  t.equal((await callApi(tokens.access_token)).status, 401);
  t.equal((await refresh(client, tokens.refresh_token)).status, 200, 'the refresh token lives on');
});

t.test(
  'V3 RFC 7009 §2.2: an unknown, garbage or already revoked token → 200, the same body as success',
  async (t) => {
    const { client, tokens } = await tokensFor(t);
    const success = await post('/revoke', { token: tokens.refresh_token, client_id: client.client_id });
    for (const token of [tokens.refresh_token, 'garbage', 'a.b.c', 'x'.repeat(43)]) {
      const res = await post('/revoke', { token, client_id: client.client_id });
      t.equal(res.status, 200, `${token.slice(0, 10)}: 200`);
      t.equal(res.text, success.text, 'same body');
    }
  },
);

t.test('V4 RFC 7009 §2.1: another client’s token is never revoked', async (t) => {
  const { client, tokens } = await tokensFor(t);
  const other = await newClient(t);
  t.equal((await post('/revoke', { token: tokens.refresh_token, client_id: other.client_id })).status, 200);
  t.equal((await post('/revoke', { token: tokens.access_token, client_id: other.client_id })).status, 200);
  t.equal((await callApi(tokens.access_token)).status, 200, 'the access token lives');
  t.equal((await refresh(client, tokens.refresh_token)).status, 200, 'the refresh token lives');
});

t.test('I1 RFC 7662 §2.1: introspection without caller authentication → 401', async (t) => {
  const { tokens } = await tokensFor(t);
  for (const headers of [
    {},
    basic(API_RESOURCE, 'wrong-secret'),
    basic('https://unknown.example', process.env.REALSTACK_RESOURCE_SECRET as string),
  ]) {
    const res = await post('/introspect', { token: tokens.access_token }, headers);
    t.equal(res.status, 401);
    t.equal(res.json.error, 'invalid_client');
    t.notOk('active' in res.json, 'nothing about the token');
  }
});

t.test('I2 RFC 7662 §2.2: an active token → active, scope, client_id, sub, aud, iss, exp', async (t) => {
  const { client, tokens } = await tokensFor(t);
  const res = await introspect(tokens.access_token);
  t.equal(res.status, 200);
  t.equal(res.headers['cache-control'], 'no-store');
  t.match(res.json, {
    active: true,
    scope: tokens.scope,
    client_id: client.client_id,
    sub: String,
    aud: API_RESOURCE,
    iss: new URL(s.auth).origin,
    exp: Number,
  });
});

t.test(
  'I3 RFC 7662 §2.2: an expired, revoked, unknown or other resource’s token → exactly {"active":false}',
  async (t) => {
    const forOther = await tokensFor(t, { resource: OTHER_RESOURCE });
    t.same(
      (await introspect(forOther.tokens.access_token)).json,
      { active: false },
      'another resource’s token',
    );
    t.equal(
      (await introspect(forOther.tokens.access_token, OTHER_RESOURCE)).json.active,
      true,
      'active for its own resource',
    );
    t.same((await introspect('unknown')).json, { active: false }, 'unknown');
    t.same((await introspect(forOther.tokens.refresh_token)).json, { active: false }, 'a refresh token');
    const { client, tokens } = await tokensFor(t);
    await post('/revoke', { token: tokens.access_token, client_id: client.client_id });
    t.same((await introspect(tokens.access_token)).json, { active: false }, 'revoked');
    // An expired token: one signed with the real key and an exp in the past (see helpers/jwt.ts).
    const expired = await signWithServerKey(t, { exp: Math.floor(Date.now() / 1000) - 120 });
    t.same((await introspect(expired)).json, { active: false }, 'expired');
  },
);
