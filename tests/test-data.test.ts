// The test-data protocol both services speak to `realstack cleanup` (services/kit/src/test-data.ts):
// POST /admin/test-data/list and /delete, behind the admin token, scoped to one run. Each test
// uses run ids of its own, so deleting touches nothing of the tests beside it.
import t from 'tap';
import { testRunId } from './helpers/cli.js';
import { sendJson } from './helpers/oauth.js';
import { stack } from './helpers/stack.js';
import { newTenant } from './helpers/tenant.js';

const s = stack();
const admin = { authorization: `Bearer ${process.env.REALSTACK_ADMIN_TOKEN}` };

const call = (url: string, body: unknown, headers: Record<string, string> = admin) =>
  sendJson('POST', url, body, headers);

t.test('both services refuse the test-data API without the admin token, and a malformed scope', async (t) => {
  for (const base of [s.auth, s.api]) {
    for (const action of ['list', 'delete']) {
      const url = `${base}/admin/test-data/${action}`;
      t.equal((await call(url, {}, {})).status, 401, `${url} without the token`);
      t.equal(
        (await call(url, {}, { authorization: 'Bearer wrong' })).status,
        401,
        `${url} with a wrong one`,
      );
      const bad = await call(url, { run: 'a b' });
      t.equal(bad.status, 400, `${url} with a run id that is not one`);
      t.equal(bad.json.error, 'invalid_request');
    }
  }
});

t.test('a filter a service does not understand is a 400, never "all test data"', async (t) => {
  // What an independent fuzzer sent: each used to be read as {} and delete every run's records.
  const alice = await newTenant(t);
  const run = testRunId('keep');
  t.equal((await alice.call('POST', '/v1/organisations', { name: `TEST ${run} org` })).status, 201);
  for (const base of [s.auth, s.api]) {
    for (const body of [
      {},
      { zzz: 1 },
      { RUN: 'x' },
      { '\u00ff': 1 },
      { run, all: true },
      { all: false },
      { all: 'yes' },
    ]) {
      const res = await call(`${base}/admin/test-data/delete`, body);
      t.equal(res.status, 400, `${base} delete ${JSON.stringify(body)}`);
      t.equal(res.json.error, 'invalid_request');
    }
    const unknown = await call(`${base}/admin/test-data/delete`, { zzz: 1 });
    t.match(unknown.json.error_description, 'unknown field "zzz" in body', 'the field is named');
    const neither = await call(`${base}/admin/test-data/delete`, {});
    t.match(neither.json.error_description, '{"all": true} for every run', 'what to send instead');
  }
  const listed = await call(`${s.api}/admin/test-data/list`, { run });
  t.same(
    listed.json.records.organisations.map((o: { name: string }) => o.name),
    [`TEST ${run} org`],
    'nothing was deleted',
  );
  const all = await call(`${s.api}/admin/test-data/list`, { all: true });
  t.equal(all.status, 200, 'every run’s data, asked for by name');
  t.ok(all.json.records.organisations.some((o: { name: string }) => o.name === `TEST ${run} org`));
  t.equal((await call(`${s.api}/admin/test-data/delete`, { run })).status, 200);
});

t.test('a run scope finds that run’s data only; deleting it leaves another run’s', async (t) => {
  const alice = await newTenant(t);
  const [mine, theirs] = [testRunId('mine'), testRunId('theirs')];
  for (const run of [mine, theirs])
    t.equal((await alice.call('POST', '/v1/organisations', { name: `TEST ${run} org` })).status, 201);
  const list = (run: string) => call(`${s.api}/admin/test-data/list`, { run });
  t.same(
    (await list(mine)).json.records.organisations.map((o: { name: string }) => o.name),
    [`TEST ${mine} org`],
  );
  t.same((await call(`${s.api}/admin/test-data/delete`, { run: mine })).json, {
    service: 'api',
    removed: {
      organisations: 1,
      objects: 0,
      'registers in the default organisation': 0,
      'schemas in the default organisation': 0,
      users: 0,
    },
  });
  t.same((await list(mine)).json.records.organisations, [], 'gone');
  t.equal((await list(theirs)).json.records.organisations.length, 1, 'the other run’s is still there');
  await call(`${s.api}/admin/test-data/delete`, { run: theirs });
});

t.test('auth lists a run’s users as subjects, which the api owns data for', async (t) => {
  const run = testRunId('subj');
  const user = await call(`${s.auth}/admin/users`, {
    username: `TEST_${run}_w0_x`,
    password: 'long enough pw',
  });
  t.equal(user.status, 201);
  const listed = await call(`${s.auth}/admin/test-data/list`, { run });
  t.same(listed.json.subjects, [user.json.id]);
  t.same(
    listed.json.records.users.map((u: { name: string }) => u.name),
    [`TEST_${run}_w0_x`],
  );
  t.same((await call(`${s.auth}/admin/test-data/delete`, { run })).json.removed, {
    clients: 0,
    users: 1,
    tokens: 0,
  });
});

t.test(
  'what tests leave in the default organisation is test data too, and deleting counts what went',
  async (t) => {
    const run = testRunId('dflt');
    const alice = await newTenant(t);
    // A new user's active organisation is the default one: what they make lands there.
    const register = await alice.call('POST', '/v1/registers', { name: `TEST ${run} register` });
    t.equal(register.status, 201, register.text);
    const schema = await alice.call('POST', '/v1/schemas', { name: `TEST ${run} schema` });
    const object = await alice.call('POST', '/v1/objects', {
      name: 'filed under a test register',
      register: register.json.id,
      schema: schema.json.id,
      data: {},
    });
    t.equal(object.status, 201, object.text);
    // And an organisation of the run's with two objects in it.
    const org = await alice.call('POST', '/v1/organisations', { name: `TEST ${run} org` });
    await alice.call('PUT', '/v1/active-organisation', { id: org.json.id });
    const r = await alice.call('POST', '/v1/registers', { name: 'R' });
    const sc = await alice.call('POST', '/v1/schemas', { name: 'S' });
    for (const name of ['one', 'two'])
      t.equal(
        (await alice.call('POST', '/v1/objects', { name, register: r.json.id, schema: sc.json.id, data: {} }))
          .status,
        201,
      );

    const listed = (await call(`${s.api}/admin/test-data/list`, { run })).json.records;
    t.same(
      listed['registers in the default organisation'].map((x: { name: string }) => x.name),
      [`TEST ${run} register`],
    );
    t.same(
      listed['schemas in the default organisation'].map((x: { name: string }) => x.name),
      [`TEST ${run} schema`],
    );
    t.same(
      listed['objects in the default organisation'].map((x: { name: string }) => x.name),
      ['filed under a test register'],
    );
    t.match(listed.organisations, [{ name: `TEST ${run} org`, detail: { objects: 2 } }]);

    const removed = (await call(`${s.api}/admin/test-data/delete`, { run })).json.removed;
    t.same(
      removed,
      {
        organisations: 1,
        objects: 3,
        'registers in the default organisation': 1,
        'schemas in the default organisation': 1,
        users: 0,
      },
      'the objects of the removed organisation are counted',
    );
    const after = (await call(`${s.api}/admin/test-data/list`, { run })).json.records;
    t.same(Object.values(after).flat(), [], 'nothing of the run is left');
  },
);
