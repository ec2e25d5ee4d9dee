// Multi-tenancy in the api against the running stack (shared/tenancy-scenarios.md areas 1-4, 9,
// 10 and the row-level-security line). Every person is a real user of the auth service with a
// token from the real OAuth flow; organisations are named "TEST <run id> ...".
import pg from 'pg';
import t, { type Test } from 'tap';
import { asTenant } from '../services/api/src/tenant-db.js';
import { newUser, newUsers } from './helpers/oauth.js';
import { stack } from './helpers/stack.js';
import { ALL_SCOPES, callAs, createOrganisation, newTenant } from './helpers/tenant.js';

const s = stack();
const MISSING = '00000000-0000-4000-8000-000000000000';

async function database(t: Test) {
  const db = new pg.Client({ connectionString: s.postgres });
  await db.connect();
  t.teardown(() => db.end());
  return db;
}

t.test(
  '1 default organisation: exists, a first-time user joins it, a second default is impossible',
  async (t) => {
    const alice = await newTenant(t);
    const list = await alice.call('GET', '/v1/organisations');
    t.equal(list.status, 200);
    const items = list.json.items as { is_default: boolean; name: string; owner: string; role: string }[];
    t.equal(items.length, 1, 'a new user belongs to one organisation');
    t.match(items[0], { is_default: true, name: 'Default', owner: 'system', role: 'member' });
    const db = await database(t);
    await t.rejects(
      db.query(
        "INSERT INTO api.organisations (name, owner, is_default) VALUES ('another default', 'system', true)",
      ),
      { code: '23505' },
      'the database refuses a second default (unique index)',
    );
  },
);

t.test('smoke: 2 organisation CRUD: create, read, update, search with paging, and the errors', async (t) => {
  const alice = await newTenant(t);
  const bob = await newTenant(t);
  const org = await createOrganisation(t, alice, 'Acme', 'rockets');
  t.match(org, {
    name: `TEST ${s.tag} Acme`,
    description: 'rockets',
    owner: alice.sub,
    role: 'owner',
    is_default: false,
  });
  const read = await alice.call('GET', `/v1/organisations/${org.id}`);
  t.equal(read.status, 200);
  const updated = await alice.call('PATCH', `/v1/organisations/${org.id}`, { description: 'better rockets' });
  t.equal(updated.status, 200);
  t.equal(updated.json.description, 'better rockets');
  t.equal(updated.json.name, org.name, 'a field not sent is kept');

  for (const n of ['Zeta one', 'Zeta two', 'Zeta three']) await createOrganisation(t, alice, n);
  const page1 = await alice.call('GET', `/v1/organisations?name=${encodeURIComponent('zeta')}&limit=2`);
  t.equal(page1.json.total, 3, 'search by name, case-insensitive');
  t.equal((page1.json.items as unknown[]).length, 2, 'a page of 2');
  const page2 = await alice.call('GET', `/v1/organisations?name=zeta&limit=2&offset=2`);
  t.equal((page2.json.items as unknown[]).length, 1, 'the rest on the next page');
  const percent = await alice.call('GET', `/v1/organisations?name=${encodeURIComponent('%')}`);
  t.equal(percent.json.total, 0, 'a % in the search term matches only a %');

  for (const name of ['', '   ']) {
    const res = await alice.call('POST', '/v1/organisations', { name });
    t.equal(res.status, 400, `name ${JSON.stringify(name)}: 400`);
    t.equal(res.json.error, 'invalid_request');
  }
  const foreign = await bob.call('GET', `/v1/organisations/${org.id}`);
  const missing = await bob.call('GET', `/v1/organisations/${MISSING}`);
  t.equal(foreign.status, 404, 'read without membership: 404');
  t.equal(missing.status, 404);
  t.equal(foreign.json.error, missing.json.error, 'indistinguishable from a missing one');
  t.equal(
    foreign.text.replace(org.id, 'X'),
    missing.text.replace(MISSING, 'X'),
    'byte for byte, but for the id',
  );

  await alice.call('POST', `/v1/organisations/${org.id}/members`, { user: bob.sub, role: 'member' });
  const denied = await bob.call('PATCH', `/v1/organisations/${org.id}`, { name: 'mine now' });
  t.equal(denied.status, 403, 'update without the role: 403');
  t.equal(denied.json.error, 'forbidden');
  t.equal((await alice.call('PATCH', `/v1/organisations/${MISSING}`, { name: 'x' })).status, 404);
});

t.test('3 membership: add, many organisations, leave, and the refusals', async (t) => {
  const alice = await newTenant(t);
  const bob = await newTenant(t);
  await bob.call('GET', '/v1/organisations'); // a first visit: bob joins the default
  const one = await createOrganisation(t, alice, 'One');
  const two = await createOrganisation(t, alice, 'Two');
  for (const org of [one, two]) {
    const res = await alice.call('POST', `/v1/organisations/${org.id}/members`, {
      user: bob.sub,
      role: 'member',
    });
    t.equal(res.status, 201);
    t.match(res.json, { user: bob.sub, role: 'member' });
  }
  t.equal(
    (await bob.call('GET', '/v1/organisations')).json.total,
    3,
    'bob belongs to the default and two more',
  );
  t.equal(
    (await bob.call('DELETE', `/v1/organisations/${one.id}/members/${bob.sub}`)).status,
    204,
    'bob leaves one',
  );
  t.equal((await bob.call('GET', `/v1/organisations/${one.id}`)).status, 404, 'and no longer sees it');
  t.equal(
    (await alice.call('POST', `/v1/organisations/${MISSING}/members`, { user: bob.sub, role: 'member' }))
      .status,
    404,
  );
  const again = await alice.call('POST', `/v1/organisations/${two.id}/members`, {
    user: bob.sub,
    role: 'member',
  });
  t.equal(again.status, 409, 'adding an existing member: 409');
  const badRole = await alice.call('POST', `/v1/organisations/${two.id}/members`, {
    user: bob.sub,
    role: 'king',
  });
  t.equal(badRole.status, 400, 'an unknown role: 400');
  t.match(badRole.json.error_description, /role/);
  // Members are the authorization server's users, by id: nobody invented, nobody mistyped.
  const notAnId = await alice.call('POST', `/v1/organisations/${two.id}/members`, {
    user: 'not-a-real-user',
    role: 'owner',
  });
  t.equal(notAnId.status, 400, 'a user that is not an id: 400');
  t.match(notAnId.json.error_description, 'body/user must match format "uuid"');
  const invented = await alice.call('POST', `/v1/organisations/${two.id}/members`, {
    user: MISSING,
    role: 'member',
  });
  t.equal(invented.status, 400, 'an id the authorization server does not know: 400');
  t.match(invented.json.error_description, `the authorization server has no user ${MISSING}`);

  const carol = await newTenant(t);
  const only = (await carol.call('GET', '/v1/organisations')).json.items as { id: string }[];
  const last = await carol.call('DELETE', `/v1/organisations/${only[0]?.id}/members/${carol.sub}`);
  t.equal(last.status, 409, 'leaving the last organisation: 409');
  t.equal(last.json.error, 'conflict');

  const stats = await alice.call('GET', `/v1/organisations/${two.id}/stats`);
  t.same(stats.json, { members: 2, owners: 1, admins: 0 }, 'membership statistics');
});

t.test('3 concurrent joins and leaves lose nothing; two leaves cannot strand a user', async (t) => {
  const alice = await newTenant(t);
  const org = await createOrganisation(t, alice, 'Crowd');
  const subs = (await newUsers(t, 12, 'member')).map((u) => u.id);
  const added = await Promise.all(
    subs.map((user) => alice.call('POST', `/v1/organisations/${org.id}/members`, { user, role: 'member' })),
  );
  t.same(
    added.map((r) => r.status),
    subs.map(() => 201),
    'every concurrent join succeeds',
  );
  t.equal((await alice.call('GET', `/v1/organisations/${org.id}/stats`)).json.members, 13);
  const removed = await Promise.all(
    subs
      .slice(0, 6)
      .map((user) => alice.call('DELETE', `/v1/organisations/${org.id}/members/${encodeURIComponent(user)}`)),
  );
  t.same(
    removed.map((r) => r.status),
    subs.slice(0, 6).map(() => 204),
  );
  t.equal((await alice.call('GET', `/v1/organisations/${org.id}/stats`)).json.members, 7, 'and every leave');

  const bob = await newTenant(t);
  await bob.call('GET', '/v1/organisations'); // a first visit: bob joins the default
  await alice.call('POST', `/v1/organisations/${org.id}/members`, { user: bob.sub, role: 'member' });
  const mine = (await bob.call('GET', '/v1/organisations')).json.items as { id: string }[];
  t.equal(mine.length, 2);
  const leaves = await Promise.all(
    mine.map((o) => bob.call('DELETE', `/v1/organisations/${o.id}/members/${bob.sub}`)),
  );
  t.same(leaves.map((r) => r.status).sort(), [204, 409], 'leaving both at once: one wins, one is refused');
  t.equal((await bob.call('GET', '/v1/organisations')).json.total, 1, 'bob keeps one organisation');
});

t.test(
  '4 active organisation: set on first read, kept across requests and logins, switched on leaving',
  async (t) => {
    const alice = await newTenant(t);
    const first = await alice.call('GET', '/v1/active-organisation');
    t.equal(first.status, 200);
    t.equal(first.json.is_default, true, 'auto-set to the default on first read');
    const org = await createOrganisation(t, alice, 'Active');
    const set = await alice.call('PUT', '/v1/active-organisation', { id: org.id });
    t.equal(set.status, 200);
    t.equal((await alice.call('GET', '/v1/active-organisation')).json.id, org.id, 'kept across requests');
    const again = await newTenant(t, ALL_SCOPES, alice.user);
    t.equal(again.sub, alice.sub, 'the same person, a new login');
    t.equal((await again.call('GET', '/v1/active-organisation')).json.id, org.id, 'kept across logins');

    const bob = await newTenant(t);
    await bob.call('GET', '/v1/organisations'); // a first visit: bob joins the default
    await alice.call('POST', `/v1/organisations/${org.id}/members`, { user: bob.sub, role: 'member' });
    await bob.call('PUT', '/v1/active-organisation', { id: org.id });
    await bob.call('DELETE', `/v1/organisations/${org.id}/members/${bob.sub}`);
    const switched = await bob.call('GET', '/v1/active-organisation');
    t.equal(switched.json.is_default, true, 'leaving it switches to another');
    t.equal(
      (await bob.call('PUT', '/v1/active-organisation', { id: org.id })).status,
      404,
      'a non-member cannot set it',
    );
    t.equal(
      (await bob.call('PUT', '/v1/active-organisation', { id: MISSING })).status,
      404,
      'nor a missing one',
    );
  },
);

t.test('7 the active-organisation cache is per user: never shared, cleared on demand', async (t) => {
  const alice = await newTenant(t);
  const bob = await newTenant(t);
  const mine = await createOrganisation(t, alice, 'Cache alice');
  const theirs = await createOrganisation(t, bob, 'Cache bob');
  await alice.call('PUT', '/v1/active-organisation', { id: mine.id });
  await bob.call('PUT', '/v1/active-organisation', { id: theirs.id });
  for (let i = 0; i < 3; i++) {
    const [a, b] = await Promise.all([
      alice.call('GET', '/v1/active-organisation'),
      bob.call('GET', '/v1/active-organisation'),
    ]);
    t.equal(a.json.id, mine.id, `read ${i}: alice gets hers`);
    t.equal(b.json.id, theirs.id, `read ${i}: bob gets his`);
  }
  t.equal((await alice.call('DELETE', '/v1/active-organisation/cache')).status, 204, 'cleared on demand');
  t.equal(
    (await alice.call('GET', '/v1/active-organisation')).json.id,
    mine.id,
    'the stored choice answers again',
  );
  t.equal((await bob.call('GET', '/v1/active-organisation')).json.id, theirs.id, 'and bob is untouched');
});

t.test(
  '9 edge cases: no token, malformed JSON, SQL injection, limits, Unicode, nulls; never a 500',
  async (t) => {
    const alice = await newTenant(t);
    const none = await callAs(undefined, 'GET', '/v1/organisations');
    t.equal(none.status, 401);
    t.match(none.headers['www-authenticate'], /^Bearer resource_metadata=/);
    const malformed = await alice.call('POST', '/v1/organisations', '{"name": ');
    t.equal(malformed.status, 400);
    t.equal(malformed.json.error, 'invalid_request');
    const injection = "x'); DROP TABLE api.organisations; --";
    const org = await createOrganisation(t, alice, injection);
    t.equal(org.name, `TEST ${s.tag} ${injection}`, 'stored verbatim');
    t.equal(
      (await alice.call('GET', `/v1/organisations/${org.id}`)).json.name,
      org.name,
      'and read back verbatim',
    );
    const long = await alice.call('POST', '/v1/organisations', { name: 'n'.repeat(201) });
    t.equal(long.status, 400);
    t.match(long.json.error_description, /200/, 'the limit is named');
    const unicode = `TEST ${s.runId} 🚀 مرحبا e\u0301 日本`;
    const u = await alice.call('POST', '/v1/organisations', { name: unicode });
    t.equal(u.status, 201);
    t.equal(u.json.name, unicode, 'emoji, right-to-left and combining marks round-trip');
    await alice.call('DELETE', `/v1/organisations/${u.json.id}`);
    const nulls = await createOrganisation(t, alice, 'nulls', null);
    t.equal(nulls.description, '', 'a null description is no description');
    const nullName = await alice.call('POST', '/v1/organisations', { name: null });
    t.equal(nullName.status, 400, 'a null name: 400');
    const scopeless = await newTenant(t, 'profile');
    const forbidden = await scopeless.call('GET', '/v1/organisations');
    t.equal(forbidden.status, 403, 'without organisations:read');
    t.match(forbidden.headers['www-authenticate'], /insufficient_scope.*scope="organisations:read"/);
  },
);

t.test('10 every change leaves an audit entry with its organisation', async (t) => {
  const alice = await newTenant(t);
  const org = await createOrganisation(t, alice, 'Audited');
  await alice.call('PATCH', `/v1/organisations/${org.id}`, { name: `TEST ${s.runId} Audited 2` });
  const auditee = await newUser(t, 'auditee');
  await alice.call('POST', `/v1/organisations/${org.id}/members`, { user: auditee.id, role: 'admin' });
  await alice.call('DELETE', `/v1/organisations/${org.id}/members/${auditee.id}`);
  const trail = await alice.call('GET', `/v1/organisations/${org.id}/audit`);
  t.equal(trail.status, 200);
  const entries = trail.json.items as { action: string; organisation_id: string; actor: string }[];
  t.same(
    entries.map((e) => e.action),
    ['member.removed', 'member.added', 'organisation.updated', 'organisation.created'],
  );
  t.ok(
    entries.every((e) => e.organisation_id === org.id && e.actor === alice.sub),
    'with the organisation and who did it',
  );
});

t.test(
  'row-level security: as the api role, another tenant context reads nothing, even without a filter',
  async (t) => {
    const alice = await newTenant(t);
    const bob = await newTenant(t);
    const org = await createOrganisation(t, alice, 'Private');
    const db = await database(t);
    const readAs = async (sub: string | null) => {
      await db.query('BEGIN');
      try {
        if (sub) await db.query("SELECT set_config('app.user_sub', $1, true)", [sub]);
        await db.query('SET LOCAL ROLE api_tenant');
        const orgs = await db.query('SELECT id, name FROM api.organisations WHERE id = $1', [org.id]);
        const members = await db.query('SELECT * FROM api.memberships WHERE organisation_id = $1', [org.id]);
        const audit = await db.query('SELECT * FROM api.audit WHERE organisation_id = $1', [org.id]);
        return [orgs.rowCount, members.rowCount, audit.rowCount];
      } finally {
        await db.query('ROLLBACK');
      }
    };
    t.same(await readAs(alice.sub), [1, 1, 1], 'its owner reads it');
    t.same(await readAs(bob.sub), [0, 0, 0], 'another tenant reads nothing');
    t.same(await readAs(null), [0, 0, 0], 'no tenant context reads nothing');
    // The api's own transaction wrapper, the one every route uses: the same rule holds inside it.
    const pool = new pg.Pool({ connectionString: s.postgres, max: 1 });
    t.teardown(() => pool.end());
    const inside = await asTenant(pool, bob.sub, async (tx) => ({
      user: (await tx.query('SELECT current_user AS u')).rows[0].u,
      unfiltered: (await tx.query('SELECT id FROM api.organisations')).rows.map((r) => r.id),
    }));
    t.equal(inside.user, 'api_tenant', 'routes run their queries as api_tenant');
    t.notOk(inside.unfiltered.includes(org.id), 'and an unfiltered SELECT there shows no other tenant');
    const role = await db.query("SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = 'api_tenant'");
    t.same(role.rows[0], { rolsuper: false, rolbypassrls: false }, 'the api role can bypass nothing');
  },
);

t.test(
  'isolation matrix: every route and method with one tenant’s token against another’s organisation',
  async (t) => {
    const alice = await newTenant(t);
    const mallory = await newTenant(t);
    const org = await createOrganisation(t, alice, 'Target', 'secret plans');
    const id = org.id;
    const routes: [string, string, unknown?][] = [
      ['GET', `/v1/organisations/${id}`],
      ['PATCH', `/v1/organisations/${id}`, { name: 'pwned' }],
      ['DELETE', `/v1/organisations/${id}`],
      ['GET', `/v1/organisations/${id}/members`],
      ['POST', `/v1/organisations/${id}/members`, { user: mallory.sub, role: 'owner' }],
      ['DELETE', `/v1/organisations/${id}/members/${alice.sub}`],
      ['DELETE', `/v1/organisations/${id}/members/${mallory.sub}`],
      ['GET', `/v1/organisations/${id}/stats`],
      ['GET', `/v1/organisations/${id}/audit`],
      ['PUT', '/v1/active-organisation', { id }],
    ];
    for (const [method, path, body] of routes) {
      const res = await mallory.call(method, path, body);
      t.ok(res.status === 404, `${method} ${path.replace(id, ':id')}: ${res.status}`);
      t.notMatch(res.text, /secret plans|Target/, 'nothing of it leaks');
    }
    const lists = [
      await mallory.call('GET', '/v1/organisations?limit=100'),
      await mallory.call('GET', `/v1/organisations?name=${encodeURIComponent('Target')}`),
    ];
    for (const list of lists)
      t.notOk(
        (list.json.items as { id: string }[]).some((o) => o.id === id),
        'never in a list or a search',
      );
    const after = await alice.call('GET', `/v1/organisations/${id}`);
    t.match(after.json, { name: org.name, description: 'secret plans' }, 'and nothing changed');
    t.equal((await alice.call('GET', `/v1/organisations/${id}/stats`)).json.members, 1);
  },
);

t.test('the OpenAPI document at /openapi.json describes every route, with its errors', async (t) => {
  const res = await callAs(undefined, 'GET', '/openapi.json');
  t.equal(res.status, 200);
  t.match(res.json, { openapi: /^3\./, info: { title: String } });
  const paths = res.json.paths as Record<string, Record<string, { responses: Record<string, unknown> }>>;
  for (const [path, methods] of [
    ['/v1/organisations', ['get', 'post']],
    ['/v1/organisations/{id}', ['get', 'patch', 'delete']],
    ['/v1/organisations/{id}/members', ['get', 'post']],
    ['/v1/organisations/{id}/members/{user}', ['delete']],
    ['/v1/organisations/{id}/stats', ['get']],
    ['/v1/organisations/{id}/audit', ['get']],
    ['/v1/active-organisation', ['get', 'put']],
    ['/v1/active-organisation/cache', ['delete']],
    ['/v1/registers', ['get', 'post']],
    ['/v1/registers/{id}', ['get', 'delete']],
    ['/v1/schemas', ['get', 'post']],
    ['/v1/schemas/{id}', ['get', 'delete']],
    ['/v1/objects', ['get', 'post']],
    ['/v1/objects/bulk', ['post']],
    ['/v1/objects/{id}', ['get', 'delete']],
    ['/v1/me', ['get']],
  ] as const) {
    for (const m of methods) {
      t.ok(paths[path]?.[m], `${m.toUpperCase()} ${path} is described`);
      t.ok(
        paths[path]?.[m]?.responses?.['401'] || path === '/v1/me',
        `${m.toUpperCase()} ${path}: its 401 too`,
      );
    }
  }
});

t.test('the OpenAPI document says what each route needs: its scope, or no token at all', async (t) => {
  const doc = (await callAs(undefined, 'GET', '/openapi.json')).json as {
    components: {
      securitySchemes: Record<string, { type: string; flows?: Record<string, { scopes: object }> }>;
    };
    security?: unknown;
    paths: Record<string, Record<string, { security?: Record<string, string[]>[] }>>;
  };
  t.equal(doc.security, undefined, 'no document-wide security: each route has its own');
  t.match(doc.components.securitySchemes.oauth2, {
    type: 'oauth2',
    flows: {
      authorizationCode: {
        scopes: { profile: String, 'organisations:read': String, 'organisations:write': String },
      },
    },
  });
  const needs = (path: string, method: string) => doc.paths[path]?.[method]?.security;
  t.same(needs('/.well-known/oauth-protected-resource', 'get'), [], 'the metadata is public (RFC 9728)');
  t.same(needs('/v1/me', 'get'), [{ oauth2: ['profile'] }]);
  t.same(needs('/v1/organisations', 'get'), [{ oauth2: ['organisations:read'] }]);
  t.same(needs('/v1/organisations', 'post'), [{ oauth2: ['organisations:write'] }]);
  t.same(needs('/v1/objects/bulk', 'post'), [{ oauth2: ['organisations:write'] }]);
  for (const [path, methods] of Object.entries(doc.paths))
    for (const [method, op] of Object.entries(methods))
      if (path.startsWith('/v1/'))
        t.match(
          op.security,
          [{ oauth2: [/^(profile|organisations:(read|write))$/] }],
          `${method.toUpperCase()} ${path} names its scope`,
        );
});
