// S7 key rotation (oauth-checklist.md), alone: right after a rotation the api may refuse the
// new kid until its JWKS refetch cooldown allows one fetch, which would fail tests running beside it.
import t from 'tap';
import { request } from 'undici';
import { realstack } from '../helpers/cli.js';
import { signWithServerKey } from '../helpers/jwt.js';
import { callApi, get, tokensFor } from '../helpers/oauth.js';
import { stack } from '../helpers/stack.js';

const s = stack();

t.test(
  'S7 key rotation: a token with the new kid is accepted after a JWKS refetch; the old key’s tokens keep working',
  async (t) => {
    const before = await tokensFor(t);
    t.equal((await callApi(before.tokens.access_token)).status, 200);
    const rotated = await request(`${s.auth}/admin/keys/rotate`, {
      method: 'POST',
      headers: { authorization: `Bearer ${process.env.REALSTACK_ADMIN_TOKEN}` },
    });
    t.equal(rotated.statusCode, 201);
    const { kid } = (await rotated.body.json()) as { kid: string };
    const jwks = await get(`${s.auth}/.well-known/jwks.json`);
    const kids = (jwks.json.keys as { kid: string }[]).map((k) => k.kid);
    t.ok(kids.includes(kid), 'the new key is published');
    t.ok(kids.length >= 2, 'the retired key stays published');
    const after = await tokensFor(t);
    t.equal(
      JSON.parse(Buffer.from(after.tokens.access_token.split('.')[0] as string, 'base64url').toString()).kid,
      kid,
      'signed with the new key',
    );
    // The api refetches the JWKS for an unknown kid at most once per JWKS_COOLDOWN_MS (5 s here).
    let status = 0;
    for (let i = 0; i < 30 && status !== 200; i++) {
      status = (await callApi(after.tokens.access_token)).status;
      if (status !== 200) await new Promise((r) => setTimeout(r, 500));
    }
    t.equal(status, 200, 'the new kid is accepted');
    t.equal((await callApi(before.tokens.access_token)).status, 200, 'tokens of the retired key still work');
  },
);

t.test(
  'S7 refetches are throttled: twenty unknown kids in a row cost the api at most one JWKS fetch or two',
  async (t) => {
    // The auth service logs every request; its log is the count of the api's JWKS fetches.
    const fetches = async () => {
      await new Promise((r) => setTimeout(r, 300));
      const res = await realstack(['logs', 'auth']);
      return (res.stdout.match(/"url":"\/\.well-known\/jwks\.json"/g) ?? []).length;
    };
    const before = await fetches();
    t.ok(before > 0, 'the log shows the JWKS requests made so far (the way of counting works)');
    for (let i = 0; i < 20; i++) {
      const res = await callApi(await signWithServerKey(t, {}, { kid: `unknown-${i}` }));
      t.equal(res.status, 401, `unknown kid ${i}: 401`);
    }
    const fetched = (await fetches()) - before;
    t.ok(
      fetched >= 0 && fetched <= 2,
      `${fetched} JWKS fetches for 20 unknown kids (JWKS_COOLDOWN_MS is 5 s)`,
    );
  },
);
