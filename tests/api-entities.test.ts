// Registers, schemas and objects (shared/tenancy-scenarios.md area 5, with the isolation matrix
// for their routes): organisation-owned entities in the caller's active organisation, against the
// running stack.
import pg from 'pg';
import t, { type Test } from 'tap';
import { stack } from './helpers/stack.js';
import { createOrganisation, newTenant, type Tenant } from './helpers/tenant.js';

const s = stack();

/** A person working in an organisation of their own, set active. */
async function workingIn(t: Test, name: string) {
  const person = await newTenant(t);
  const org = await createOrganisation(t, person, name);
  const active = await person.call('PUT', '/v1/active-organisation', { id: org.id });
  if (active.status !== 200) throw new Error(`setting the active organisation failed: ${active.text}`);
  return { person, org };
}

async function make(person: Tenant, path: string, body: unknown) {
  const res = await person.call('POST', path, body);
  if (res.status !== 201) throw new Error(`POST ${path} failed: ${res.text}`);
  return res.json as { id: string; organisation_id: string; [k: string]: unknown };
}

t.test('5 entities are created in the active organisation, visible within it, 404 outside it', async (t) => {
  const { person: alice, org } = await workingIn(t, 'Registry');
  const register = await make(alice, '/v1/registers', { name: 'Books', description: 'all of them' });
  const schema = await make(alice, '/v1/schemas', { name: 'Book' });
  t.equal(register.organisation_id, org.id, 'the register is in the active organisation');
  t.equal(schema.organisation_id, org.id, 'the schema too');
  const object = await make(alice, '/v1/objects', {
    name: 'Dune',
    register: register.id,
    schema: schema.id,
    data: { year: 1965 },
  });
  t.match(
    object,
    {
      organisation_id: org.id,
      register: register.id,
      schema: schema.id,
      data: { year: 1965 },
      created_by: alice.sub,
    },
    'the object inherits it',
  );
  t.equal((await alice.call('GET', `/v1/objects/${object.id}`)).status, 200);
  t.equal((await alice.call('GET', `/v1/registers?name=book`)).json.total, 1, 'search by name');
  t.equal(
    (await alice.call('GET', `/v1/objects?register=${register.id}`)).json.total,
    1,
    'filter by register',
  );

  const { person: bob } = await workingIn(t, 'Elsewhere');
  for (const path of [
    `/v1/registers/${register.id}`,
    `/v1/schemas/${schema.id}`,
    `/v1/objects/${object.id}`,
  ]) {
    const res = await bob.call('GET', path);
    t.equal(res.status, 404, `another organisation: GET ${path.split('/')[2]} is 404`);
    t.notMatch(res.text, /Books|Dune|1965/, 'nothing leaks');
  }
  t.equal((await bob.call('GET', '/v1/objects')).json.total, 0, 'nor does a list');

  // The same person, another active organisation: the entity is out of sight there.
  const defaultOrg = (
    (await alice.call('GET', '/v1/organisations?name=Default')).json.items as { id: string }[]
  )[0];
  await alice.call('PUT', '/v1/active-organisation', { id: defaultOrg?.id });
  t.equal(
    (await alice.call('GET', `/v1/objects/${object.id}`)).status,
    404,
    'visible only within its organisation',
  );
  await alice.call('PUT', '/v1/active-organisation', { id: org.id });
  t.equal((await alice.call('GET', `/v1/objects/${object.id}`)).status, 200, 'and back');
});

t.test(
  "5 an object referencing another organisation's register or schema is refused, by the api and by the database",
  async (t) => {
    const { person: alice, org } = await workingIn(t, 'Mine');
    const { person: bob } = await workingIn(t, 'Theirs');
    const myRegister = await make(alice, '/v1/registers', { name: 'R' });
    const mySchema = await make(alice, '/v1/schemas', { name: 'S' });
    const theirRegister = await make(bob, '/v1/registers', { name: 'R' });
    const theirSchema = await make(bob, '/v1/schemas', { name: 'S' });
    for (const [register, schema, what] of [
      [theirRegister.id, mySchema.id, 'register'],
      [myRegister.id, theirSchema.id, 'schema'],
    ] as const) {
      const res = await alice.call('POST', '/v1/objects', { name: 'x', register, schema });
      t.equal(res.status, 404, `another organisation's ${what}: refused`);
      t.match(res.json.error_description, new RegExp(`no ${what} `));
    }
    const db = new pg.Client({ connectionString: s.postgres });
    await db.connect();
    t.teardown(() => db.end());
    await t.rejects(
      db.query(
        "INSERT INTO api.objects (organisation_id, register_id, schema_id, name, created_by) VALUES ($1, $2, $3, 'x', 'sql')",
        [org.id, theirRegister.id, mySchema.id],
      ),
      { code: '23503' },
      'the database refuses it too, even for its owner (foreign key with the organisation)',
    );
  },
);

t.test('5 bulk creation keeps the organisation, and is all or nothing', async (t) => {
  const { person: alice, org } = await workingIn(t, 'Bulk');
  const register = await make(alice, '/v1/registers', { name: 'R' });
  const schema = await make(alice, '/v1/schemas', { name: 'S' });
  const items = Array.from({ length: 25 }, (_, i) => ({
    name: `item ${i}`,
    register: register.id,
    schema: schema.id,
    data: { i },
  }));
  const bulk = await alice.call('POST', '/v1/objects/bulk', { items });
  t.equal(bulk.status, 201);
  const created = bulk.json.items as { organisation_id: string }[];
  t.equal(created.length, 25);
  t.ok(
    created.every((o) => o.organisation_id === org.id),
    'every object in the active organisation',
  );
  const { person: bob } = await workingIn(t, 'Other');
  const foreign = await make(bob, '/v1/registers', { name: 'F' });
  const mixed = await alice.call('POST', '/v1/objects/bulk', {
    items: [...items.slice(0, 3), { name: 'bad', register: foreign.id, schema: schema.id }],
  });
  t.equal(mixed.status, 404, 'one foreign reference refuses the batch');
  t.equal((await alice.call('GET', '/v1/objects?limit=1')).json.total, 25, 'and none of it was written');
  const tooMany = await alice.call('POST', '/v1/objects/bulk', {
    items: Array.from({ length: 101 }, () => items[0]),
  });
  t.equal(tooMany.status, 400);
  t.match(tooMany.json.error_description, /100/, 'the limit is named');
});

t.test('5 and 10: deleting, roles and the audit trail', async (t) => {
  const { person: alice, org } = await workingIn(t, 'Roles');
  const register = await make(alice, '/v1/registers', { name: 'R' });
  const schema = await make(alice, '/v1/schemas', { name: 'S' });
  const object = await make(alice, '/v1/objects', { name: 'o', register: register.id, schema: schema.id });
  const inUse = await alice.call('DELETE', `/v1/registers/${register.id}`);
  t.equal(inUse.status, 409, 'a register in use stays');
  const bob = await newTenant(t);
  await alice.call('POST', `/v1/organisations/${org.id}/members`, { user: bob.sub, role: 'member' });
  await bob.call('PUT', '/v1/active-organisation', { id: org.id });
  t.equal((await bob.call('GET', `/v1/objects/${object.id}`)).status, 200, 'a member reads');
  t.equal(
    (await bob.call('DELETE', `/v1/schemas/${schema.id}`)).status,
    403,
    'a member does not delete a schema',
  );
  t.equal((await bob.call('DELETE', `/v1/objects/${object.id}`)).status, 204, 'a member deletes an object');
  t.equal(
    (await alice.call('DELETE', `/v1/registers/${register.id}`)).status,
    204,
    'unused, the owner deletes it',
  );
  const trail = (await alice.call('GET', `/v1/organisations/${org.id}/audit?limit=100`)).json.items as {
    action: string;
    actor: string;
  }[];
  t.same(
    trail.map((e) => e.action).slice(0, 6),
    [
      'register.deleted',
      'object.deleted',
      'member.added',
      'object.created',
      'schema.created',
      'register.created',
    ],
    'every change, newest first',
  );
  t.equal(trail[1]?.actor, bob.sub, 'with who did it');
});

t.test(
  'isolation matrix, entities: another tenant’s ids in path, query and body never answer 2xx',
  async (t) => {
    const { person: alice } = await workingIn(t, 'Target entities');
    const register = await make(alice, '/v1/registers', { name: 'Secret register' });
    const schema = await make(alice, '/v1/schemas', { name: 'Secret schema' });
    const object = await make(alice, '/v1/objects', {
      name: 'Secret object',
      register: register.id,
      schema: schema.id,
      data: { plan: 'secret plans' },
    });
    const { person: mallory } = await workingIn(t, 'Attacker');
    const myRegister = await make(mallory, '/v1/registers', { name: 'mine' });
    const mySchema = await make(mallory, '/v1/schemas', { name: 'mine' });
    const attempts: [string, string, unknown?][] = [
      ['GET', `/v1/registers/${register.id}`],
      ['DELETE', `/v1/registers/${register.id}`],
      ['GET', `/v1/schemas/${schema.id}`],
      ['DELETE', `/v1/schemas/${schema.id}`],
      ['GET', `/v1/objects/${object.id}`],
      ['DELETE', `/v1/objects/${object.id}`],
      ['POST', '/v1/objects', { name: 'x', register: register.id, schema: mySchema.id }],
      ['POST', '/v1/objects', { name: 'x', register: myRegister.id, schema: schema.id }],
      ['POST', '/v1/objects/bulk', { items: [{ name: 'x', register: register.id, schema: schema.id }] }],
    ];
    for (const [method, path, body] of attempts) {
      const res = await mallory.call(method, path, body);
      t.equal(res.status, 404, `${method} ${path}${body ? ' (ids in the body)' : ''}`);
      t.notMatch(res.text, /Secret|secret plans/, 'no field leaks');
    }
    for (const query of [`register=${register.id}`, `schema=${schema.id}`, 'name=Secret']) {
      const res = await mallory.call('GET', `/v1/objects?${query}`);
      t.equal(res.json.total, 0, `GET /v1/objects?${query.split('=')[0]}=… shows none of it`);
    }
    t.equal(
      (await alice.call('GET', `/v1/objects/${object.id}`)).json.name,
      'Secret object',
      'and nothing changed',
    );
  },
);

t.test('a field the api does not take is refused and named, not silently dropped', async (t) => {
  // A mass-assignment attempt must be visible to the caller: docs/api.md promises validation.
  const { person: alice, org } = await workingIn(t, 'Strict');
  const { org: other } = await workingIn(t, 'Other');
  for (const [path, body] of [
    ['/v1/registers', { name: 'R', organisation_id: other.id }],
    ['/v1/schemas', { name: 'S', owner: 'someone' }],
    ['/v1/organisations', { name: 'O', created_by: 'someone' }],
  ] as const) {
    const res = await alice.call('POST', path, body);
    t.equal(res.status, 400, `POST ${path}`);
    t.match(res.json, { error: 'invalid_request', error_description: /^unknown field "\w+" in body$/ });
  }
  const registers = await alice.call('GET', '/v1/registers');
  t.equal(registers.json.total, 0, 'nothing was created in the caller’s organisation');
  t.equal(org.id === other.id, false);
});
