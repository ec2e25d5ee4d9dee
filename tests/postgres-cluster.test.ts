import { readdirSync } from 'node:fs';
import os from 'node:os';
import pg from 'pg';
import t from 'tap';
import { testRunId } from './helpers/cli.js';
import { processPassOnly } from './helpers/engines.js';
import { linkedProject } from './helpers/project.js';

// The process engine copies each run's PostgreSQL cluster from a template made once
// (src/engine/postgres-cluster.ts): a run must still get the database the compose file
// names, its init scripts run, and nothing another run wrote.
const compose = `services:
  shopdb:
    image: postgres:16
    environment:
      POSTGRES_USER: shop
      POSTGRES_PASSWORD: "s3cret \\"quoted\\""
      POSTGRES_DB: shop-orders
    volumes:
      - ./db/init:/docker-entrypoint-initdb.d:ro
`;
const init = `CREATE TABLE items (name text PRIMARY KEY);
INSERT INTO items VALUES ('from the init script');
`;

t.test(
  'process engine: every run gets a new cluster with its database, its init scripts run, nothing of an earlier run',
  { skip: processPassOnly() },
  async (t) => {
    const id = testRunId('pgc');
    const { realstack } = linkedProject(
      t,
      { 'docker-compose.yml': compose, 'db/init/01-items.sql': init, 'package.json': '{"name":"shop"}' },
      id,
    );
    const items = async () => {
      const ps = JSON.parse((await realstack(['ps', '--json'])).stdout) as {
        services: { name: string; url: string }[];
      };
      const url = ps.services.find((s) => s.name === 'shopdb')?.url as string;
      t.match(url, /\/shop-orders$/, "the URL names the compose file's database");
      const client = new pg.Client({
        connectionString: url.replace('***', encodeURIComponent('s3cret "quoted"')),
      });
      await client.connect();
      try {
        const names = (await client.query<{ name: string }>('SELECT name FROM items ORDER BY name')).rows;
        await client.query("INSERT INTO items VALUES ('written by the test')");
        return names.map((r) => r.name);
      } finally {
        await client.end();
      }
    };
    t.teardown(() => realstack(['down']));

    for (const round of ['first', 'second']) {
      const up = await realstack(['up']);
      t.equal(up.exitCode, 0, `${round} up succeeds`);
      t.same(await items(), ['from the init script'], `${round} run: the init script's row, and no other`);
      t.equal((await realstack(['down'])).exitCode, 0, `${round} down`);
    }
    t.ok(
      readdirSync(os.tmpdir()).some((d) => d.startsWith('realstack-pgdata-')),
      'the template cluster is kept for the next run',
    );
  },
);
