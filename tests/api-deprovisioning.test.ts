// Deprovisioning an organisation (seed 001; docs/api.md): graceful by its owner, forced by the
// operator with the admin token. Afterwards SQL over every row of every table of the api's schema
// finds nothing of it but, when kept, its audit trail.
import pg from 'pg';
import t from 'tap';
import { request } from 'undici';
import { stack } from './helpers/stack.js';
import { createOrganisation, newTenant, type Tenant } from './helpers/tenant.js';

const s = stack();
const admin = { authorization: `Bearer ${process.env.REALSTACK_ADMIN_TOKEN}` };

async function withDb<T>(fn: (db: pg.Client) => Promise<T>): Promise<T> {
  const db = new pg.Client({ connectionString: s.postgres });
  await db.connect();
  try {
    return await fn(db);
  } finally {
    await db.end();
  }
}

/** For each table of the api's schema, the rows whose text holds `id` anywhere (ids, JSON, names). */
const traces = (id: string) =>
  withDb(async (db) => {
    const tables = (
      await db.query<{ name: string }>(
        "SELECT table_name AS name FROM information_schema.tables WHERE table_schema = 'api' AND table_type = 'BASE TABLE' ORDER BY 1",
      )
    ).rows.map((r) => r.name);
    const found: Record<string, number> = {};
    for (const table of tables) {
      const n = Number(
        (await db.query(`SELECT count(*) FROM api."${table}" x WHERE strpos(x::text, $1) > 0`, [id])).rows[0]
          ?.count,
      );
      if (n) found[table] = n;
    }
    return { tables, found };
  });

async function make(person: Tenant, path: string, body: unknown): Promise<string> {
  const res = await person.call('POST', path, body);
  if (res.status !== 201) throw new Error(`POST ${path} failed: ${res.text}`);
  return res.json.id as string;
}

/** An organisation with a register, a schema and an object in it, made by its owner. */
async function stocked(t: Parameters<typeof createOrganisation>[0], owner: Tenant, name: string) {
  const org = await createOrganisation(t, owner, name);
  t.equal((await owner.call('PUT', '/v1/active-organisation', { id: org.id })).status, 200);
  const register = await make(owner, '/v1/registers', { name: 'Ledger' });
  const schema = await make(owner, '/v1/schemas', { name: 'Entry' });
  const object = await make(owner, '/v1/objects', { name: 'First', register, schema, data: { n: 1 } });
  return { id: org.id, register, schema, object };
}

const addMember = async (owner: Tenant, org: string, user: Tenant, role: string) => {
  const res = await owner.call('POST', `/v1/organisations/${org}/members`, { user: user.sub, role });
  if (res.status !== 201) throw new Error(`adding a member failed: ${res.text}`);
};

const organisationsOf = async (person: Tenant) =>
  ((await person.call('GET', '/v1/organisations?limit=100')).json.items as {
    id: string;
    is_default: boolean;
  }[]) ?? [];

t.test('graceful: the owner deprovisions; data gone, members moved, the audit trail kept', async (t) => {
  const alice = await newTenant(t);
  const org = await stocked(t, alice, 'Deprovisioned');
  // Bob is invited before his first visit, so this is his only organisation; Carol has visited
  // before, and keeps the default one besides.
  const bob = await newTenant(t);
  const carol = await newTenant(t);
  await carol.call('GET', '/v1/organisations');
  await addMember(alice, org.id, bob, 'member');
  await addMember(alice, org.id, carol, 'admin');
  const defaultOrg = (await organisationsOf(alice)).find((o) => o.is_default)?.id as string;
  t.same(
    (await organisationsOf(bob)).map((o) => o.id),
    [org.id],
    'bob belongs to this organisation only',
  );
  t.equal((await bob.call('PUT', '/v1/active-organisation', { id: org.id })).status, 200);
  const before = await traces(org.id);
  t.ok(
    before.tables.includes('objects') && before.tables.includes('memberships'),
    'the tenant tables are read',
  );
  t.match(before.found, { organisations: 1, memberships: 3, registers: 1, schemas: 1, objects: 1 });

  t.equal((await carol.call('DELETE', `/v1/organisations/${org.id}`)).status, 403, 'an admin may not');
  t.equal((await bob.call('DELETE', `/v1/organisations/${org.id}`)).status, 403, 'a member may not');
  t.equal((await alice.call('DELETE', `/v1/organisations/${org.id}`)).status, 204, 'the owner may');

  const after = await traces(org.id);
  t.same(Object.keys(after.found), ['audit'], 'nothing of it remains but its audit trail');
  const last = await withDb(
    async (db) =>
      (
        await db.query(
          "SELECT actor, detail FROM api.audit WHERE organisation_id = $1 AND action = 'organisation.deprovisioned'",
          [org.id],
        )
      ).rows,
  );
  t.same(
    last,
    [
      {
        actor: alice.sub,
        detail: {
          how: 'graceful',
          name: `TEST ${s.tag} Deprovisioned`,
          registers: 1,
          schemas: 1,
          objects: 1,
          memberships: 3,
          moved: [bob.sub],
        },
      },
    ],
    'its last audit entry says what went and who moved',
  );

  t.same(
    (await organisationsOf(bob)).map((o) => o.id),
    [defaultOrg],
    'bob, left with no organisation, is a member of the default one',
  );
  const active = await bob.call('GET', '/v1/active-organisation');
  t.equal(
    active.json.id,
    defaultOrg,
    "bob's token, active in the gone organisation, works in the default one",
  );
  for (const path of [
    `/v1/organisations/${org.id}`,
    `/v1/registers/${org.register}`,
    `/v1/schemas/${org.schema}`,
    `/v1/objects/${org.object}`,
  ])
    t.equal((await bob.call('GET', path)).status, 404, `${path}: gone`);
  t.ok(
    (await organisationsOf(carol)).some((o) => o.id === defaultOrg),
    'carol keeps her default membership',
  );
  t.equal((await alice.call('DELETE', `/v1/organisations/${org.id}`)).status, 404, 'once only');
});

t.test(
  'forced: the operator deprovisions with the admin token; with audit=purge nothing remains',
  async (t) => {
    const dave = await newTenant(t);
    const erin = await newTenant(t);
    const org = await stocked(t, dave, 'Forced');
    await addMember(dave, org.id, erin, 'member');
    const call = async (path: string, headers: Record<string, string> = admin) => {
      const res = await request(`${s.api}${path}`, { method: 'DELETE', headers });
      return { status: res.statusCode, json: (await res.body.json()) as Record<string, unknown> };
    };

    t.equal((await call(`/admin/organisations/${org.id}`, {})).status, 401, 'the admin token is needed');
    const bad = await call(`/admin/organisations/${org.id}?audit=export`);
    t.equal(bad.status, 400, 'audit is keep or purge');
    const defaultOrg = (await organisationsOf(dave)).find((o) => o.is_default)?.id as string;
    const refused = await call(`/admin/organisations/${defaultOrg}`);
    t.equal(refused.status, 409);
    t.match(refused.json, {
      error: 'conflict',
      error_description: /the default organisation is where every user belongs/,
    });
    t.equal((await call('/admin/organisations/00000000-0000-4000-8000-000000000000')).status, 404);

    const done = await call(`/admin/organisations/${org.id}?audit=purge`);
    t.equal(done.status, 200);
    t.match(done.json, {
      organisation: { id: org.id, owner: dave.sub },
      removed: { registers: 1, schemas: 1, objects: 1, memberships: 2 },
      moved: [],
    });
    t.same(
      ((done.json.audit as { exported: { action: string }[] }).exported ?? []).map((e) => e.action),
      [
        'organisation.created',
        'register.created',
        'schema.created',
        'object.created',
        'member.added',
        'organisation.deprovisioned',
      ],
      'the answer is the audit trail, exported, oldest first',
    );
    t.same((await traces(org.id)).found, {}, 'no row of any table holds anything of it');
    t.equal((await dave.call('GET', `/v1/organisations/${org.id}`)).status, 404);
  },
);
