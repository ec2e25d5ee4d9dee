import pg from 'pg';
import t from 'tap';
import { request } from 'undici';
import { stack } from './helpers/stack.js';

const s = stack();

t.test('auth and api answer /health with 200 while their database answers', async (t) => {
  for (const [name, url] of [
    ['auth', s.auth],
    ['api', s.api],
  ] as const) {
    const res = await request(`${url}/health`);
    t.equal(res.statusCode, 200, `${name} /health status`);
    t.same(await res.body.json(), { status: 'ok', service: name }, `${name} /health body`);
  }
});

t.test('each service applied its own migrations in its own schema', async (t) => {
  const client = new pg.Client({ connectionString: s.postgres });
  await client.connect();
  t.teardown(() => client.end());
  const auth = await client.query('SELECT id FROM auth.schema_migrations ORDER BY id');
  const api = await client.query('SELECT id FROM api.schema_migrations ORDER BY id');
  t.same(
    auth.rows.map((r) => r.id),
    ['001_users', '002_signing_keys', '003_clients', '004_authorization'],
  );
  t.same(
    api.rows.map((r) => r.id),
    ['001_organisations', '002_tenancy', '003_entities', '004_default_private'],
  );
  const tables = await client.query(
    "SELECT table_schema || '.' || table_name AS t FROM information_schema.tables WHERE table_schema IN ('auth', 'api') ORDER BY 1",
  );
  t.same(
    tables.rows.map((r) => r.t),
    [
      'api.audit',
      'api.memberships',
      'api.objects',
      'api.organisations',
      'api.registers',
      'api.schema_migrations',
      'api.schemas',
      'api.users',
      'auth.access_tokens',
      'auth.authorization_requests',
      'auth.clients',
      'auth.codes',
      'auth.grants',
      'auth.refresh_tokens',
      'auth.schema_migrations',
      'auth.sessions',
      'auth.signing_keys',
      'auth.users',
    ],
  );
});

t.test('an unknown route is a JSON 404, not an HTML page or a stack trace', async (t) => {
  const res = await request(`${s.api}/no-such-route`);
  t.equal(res.statusCode, 404);
  t.match(res.headers['content-type'], /application\/json/);
  const body = (await res.body.json()) as { error: string; error_description: string };
  t.same(body, { error: 'not_found', error_description: 'no route GET /no-such-route' });
});
