// The default organisation, where every user lands (docs/api.md): no team, so a member sees and
// deletes their own registers, schemas and objects there and nobody else's, and sees no other
// member and no other member's audit entries. Over HTTP, and underneath as the api's database role.
import pg from 'pg';
import t from 'tap';
import { stack } from './helpers/stack.js';
import { newTenant, type Tenant } from './helpers/tenant.js';

const s = stack();

const made = async (who: Tenant, path: string, body: unknown) => {
  const res = await who.call('POST', path, body);
  if (res.status !== 201) throw new Error(`POST ${path}: ${res.status} ${res.text}`);
  return res.json.id as string;
};

t.test('in the default organisation each member works with their own entities only', async (t) => {
  const alice = await newTenant(t);
  const bob = await newTenant(t);
  const active = await alice.call('GET', '/v1/active-organisation');
  t.equal(active.json.is_default, true, 'a new user works in the default organisation');
  const defaultOrg = active.json.id as string;
  t.equal((await bob.call('GET', '/v1/active-organisation')).json.id, defaultOrg, 'both of them');

  const register = await made(alice, '/v1/registers', { name: `TEST ${s.tag} alice's register` });
  const schema = await made(alice, '/v1/schemas', { name: `TEST ${s.tag} alice's schema` });
  const object = await made(alice, '/v1/objects', {
    name: `TEST ${s.tag} alice's`,
    register,
    schema,
    data: {},
  });
  const own = await made(bob, '/v1/registers', { name: `TEST ${s.tag} bob's register` });

  for (const path of [`/v1/registers/${register}`, `/v1/schemas/${schema}`, `/v1/objects/${object}`]) {
    t.equal((await bob.call('GET', path)).status, 404, `bob: GET ${path.split('/')[2]} of alice → 404`);
    t.equal((await bob.call('DELETE', path)).status, 404, `bob: DELETE ${path.split('/')[2]} of alice → 404`);
    t.equal((await alice.call('GET', path)).status, 200, 'alice still reads it');
  }
  const lists = await Promise.all(
    ['/v1/registers?limit=100', '/v1/schemas?limit=100', '/v1/objects?limit=100'].map((p) =>
      bob.call('GET', p),
    ),
  );
  const seen = lists.flatMap((l) =>
    (l.json.items as { id: string; created_by: string }[]).map((i) => i.created_by),
  );
  t.same([...new Set(seen)], [bob.sub], "bob's lists hold only his own");
  const borrowed = await bob.call('POST', '/v1/objects', {
    name: `TEST ${s.tag} x`,
    register,
    schema,
    data: {},
  });
  t.equal(borrowed.status, 404, "bob cannot file an object under alice's register");

  const members = await bob.call('GET', `/v1/organisations/${defaultOrg}/members?limit=100`);
  t.same(
    (members.json.items as { user: string }[]).map((m) => m.user),
    [bob.sub],
    'bob sees himself among the members, nobody else',
  );
  const audit = await bob.call('GET', `/v1/organisations/${defaultOrg}/audit?limit=100`);
  t.ok(
    (audit.json.items as { actor: string }[]).every((e) => e.actor === bob.sub) &&
      (audit.json.items as unknown[]).length > 0,
    'and only his own audit entries',
  );

  // Underneath, as the role the api's queries run as: the same line, without the routes' filters.
  const db = new pg.Client({ connectionString: s.postgres });
  await db.connect();
  t.teardown(() => db.end());
  await db.query('BEGIN');
  await db.query("SELECT set_config('app.user_sub', $1, true)", [bob.sub]);
  await db.query('SET LOCAL ROLE api_tenant');
  const rows = async (table: string, column = 'created_by') =>
    (
      await db.query(`SELECT DISTINCT ${column} AS who FROM api.${table} WHERE organisation_id = $1`, [
        defaultOrg,
      ])
    ).rows.map((r) => r.who);
  t.same(await rows('registers'), [bob.sub], 'row-level security: registers');
  t.same(await rows('objects'), [], 'objects');
  t.same(await rows('memberships', 'user_sub'), [bob.sub], 'memberships');
  t.same(await rows('audit', 'actor'), [bob.sub], 'audit');
  await db.query('ROLLBACK');

  // What is their own, members delete in the default organisation (its owner is nobody).
  t.equal((await alice.call('DELETE', `/v1/objects/${object}`)).status, 204, 'alice deletes her object');
  t.equal((await alice.call('DELETE', `/v1/registers/${register}`)).status, 204, 'and her register');
  t.equal((await alice.call('DELETE', `/v1/schemas/${schema}`)).status, 204, 'and her schema');
  t.equal((await bob.call('DELETE', `/v1/registers/${own}`)).status, 204, 'bob his');
});
