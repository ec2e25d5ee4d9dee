// Scale that must stay correct (shared/tenancy-scenarios.md area 8): an organisation of 120
// members, a user in 55 organisations, concurrent active-organisation changes. How fast it is
// belongs to bench/tenancy.ts; this proves the answers.
import pg from 'pg';
import t from 'tap';
import { stack } from './helpers/stack.js';
import { createOrganisation, newTenant, type Tenant } from './helpers/tenant.js';

const s = stack();

/** Every item of a paged list, page by page. */
async function all(who: Tenant, path: string, limit: number) {
  const items: { [k: string]: unknown }[] = [];
  for (let offset = 0; ; offset += limit) {
    const page = await who.call(
      'GET',
      `${path}${path.includes('?') ? '&' : '?'}limit=${limit}&offset=${offset}`,
    );
    const got = page.json.items as { [k: string]: unknown }[];
    items.push(...got);
    if (got.length < limit) return { items, total: page.json.total as number };
  }
}

t.test('8 an organisation with 120 members: counted, paged, nobody lost or repeated', async (t) => {
  const alice = await newTenant(t);
  const org = await createOrganisation(t, alice, 'Crowded');
  // Seeded by SQL: this is about reads at size. Adding members through the api (each a user the
  // auth service knows, concurrently) is area 3's, in api-tenancy.test.ts.
  const subs = Array.from({ length: 120 }, (_, i) => `TEST ${s.runId} crowd ${String(i).padStart(3, '0')}`);
  const db = new pg.Client({ connectionString: s.postgres });
  await db.connect();
  try {
    await db.query('INSERT INTO api.users (sub) SELECT unnest($1::text[])', [subs]);
    await db.query(
      `INSERT INTO api.memberships (organisation_id, user_sub, role)
       SELECT $1, sub, CASE WHEN (n - 1) / 20 % 2 = 0 THEN 'admin' ELSE 'member' END
       FROM unnest($2::text[]) WITH ORDINALITY AS u(sub, n)`,
      [org.id, subs],
    );
  } finally {
    await db.end();
  }
  const stats = await alice.call('GET', `/v1/organisations/${org.id}/stats`);
  t.same(stats.json, { members: 121, owners: 1, admins: 60 });
  const { items, total } = await all(alice, `/v1/organisations/${org.id}/members`, 50);
  t.equal(total, 121);
  t.equal(new Set(items.map((m) => m.user)).size, 121, 'three pages, every member once');
});

t.test('8 a user in 55 organisations, and 20 concurrent active-organisation changes', async (t) => {
  const alice = await newTenant(t);
  const orgs: { id: string }[] = [];
  for (let i = 0; i < 55; i += 11) {
    orgs.push(
      ...(await Promise.all(
        Array.from({ length: 11 }, (_, j) => createOrganisation(t, alice, `Many ${i + j}`)),
      )),
    );
  }
  const { items, total } = await all(alice, '/v1/organisations', 20);
  t.equal(total, 56, '55 and the default');
  t.equal(new Set(items.map((o) => o.id)).size, 56, 'every one once across the pages');
  t.equal(
    (await alice.call('GET', `/v1/organisations?name=${encodeURIComponent('Many 5')}`)).json.total,
    6,
    'search among them',
  );

  const picks = Array.from({ length: 20 }, (_, i) => orgs[(i * 7) % orgs.length]?.id as string);
  const changes = await Promise.all(picks.map((id) => alice.call('PUT', '/v1/active-organisation', { id })));
  t.ok(
    changes.every((r) => r.status === 200),
    'every change is answered',
  );
  const active = (await alice.call('GET', '/v1/active-organisation')).json.id;
  t.ok(picks.includes(active as string), 'the active organisation is one of those chosen');
  const db = new pg.Client({ connectionString: s.postgres });
  await db.connect();
  t.teardown(() => db.end());
  const stored = (await db.query('SELECT active_organisation FROM api.users WHERE sub = $1', [alice.sub]))
    .rows[0];
  t.equal(stored?.active_organisation, active, 'and the one stored: no torn state');
});
