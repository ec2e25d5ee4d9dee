// Tenancy as a database migration (shared/tenancy-scenarios.md area 6), on a database of its own
// in the stack's PostgreSQL: the api's migrations applied in two steps, with rows from before
// multi-tenancy in between, as an upgrade would meet them.
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import t from 'tap';
import { migrations } from '../services/api/src/migrations.js';
import { migrate } from '../services/kit/src/index.js';
import { stack } from './helpers/stack.js';

const s = stack();

t.test(
  '6 data migration: older rows gain an owner, a single default appears, tenancy columns are NOT NULL and referenced',
  async (t) => {
    const name = `tmig_${randomBytes(4).toString('hex')}`;
    const admin = new pg.Client({ connectionString: s.postgres });
    await admin.connect();
    await admin.query(`CREATE DATABASE ${name}`);
    const url = new URL(s.postgres);
    url.pathname = `/${name}`;
    const pool = new pg.Pool({ connectionString: url.href, max: 2 });
    t.teardown(async () => {
      await pool.end();
      await admin.query(`DROP DATABASE ${name}`);
      await admin.end();
    });

    t.same(
      await migrate(pool, 'api', migrations.slice(0, 1)),
      ['001_organisations'],
      'the schema before tenancy',
    );
    await pool.query("INSERT INTO api.organisations (name) VALUES ('Legacy one'), ('Legacy two')");
    t.same(
      await migrate(pool, 'api', migrations),
      ['002_tenancy', '003_entities', '004_default_private'],
      'the upgrade',
    );
    const rows = (await pool.query('SELECT name, owner, is_default FROM api.organisations ORDER BY name'))
      .rows;
    t.same(
      rows,
      [
        { name: 'Default', owner: 'system', is_default: true },
        { name: 'Legacy one', owner: 'system', is_default: false },
        { name: 'Legacy two', owner: 'system', is_default: false },
      ],
      'older rows are kept and owned by "system"; one default is added',
    );
    t.same(await migrate(pool, 'api', migrations), [], 'running again changes nothing');
    t.equal(
      (await pool.query('SELECT count(*)::int AS n FROM api.organisations WHERE is_default')).rows[0].n,
      1,
    );

    await t.rejects(
      pool.query("INSERT INTO api.organisations (name, owner) VALUES ('x', NULL)"),
      { code: '23502' },
      'owner is NOT NULL',
    );
    await t.rejects(
      pool.query("INSERT INTO api.registers (organisation_id, name, created_by) VALUES (NULL, 'r', 'x')"),
      { code: '23502' },
      'an entity’s organisation is NOT NULL',
    );
    await t.rejects(
      pool.query(
        "INSERT INTO api.registers (organisation_id, name, created_by) VALUES (gen_random_uuid(), 'r', 'x')",
      ),
      { code: '23503' },
      'a reference to a missing organisation is refused (foreign key)',
    );
    await t.rejects(
      pool.query(
        "INSERT INTO api.memberships (organisation_id, user_sub, role) SELECT id, 'nobody', 'member' FROM api.organisations LIMIT 1",
      ),
      { code: '23503' },
      'a membership of an unknown user is refused',
    );
  },
);
