/**
 * The api's tenancy at size, on the reference stack (process engine): an organisation of 120
 * members, a user in 56 organisations, and
 *
 * 1. a tenant-scoped read and write through the api (autocannon): the caller's organisations,
 *    an organisation's members, and creating an object in the active organisation. The api
 *    under test is a second api process on the stack's database with the JWT checks only, so
 *    that the figures show tenancy, not introspection (bench/oauth.ts has that cost);
 * 2. the cost of row-level security: the same SQL, with the same explicit tenant filter, run
 *    as the api_tenant role (policies on) and as the table owner (policies bypassed), side by
 *    side, rounds interleaved.
 *
 *   node dist/bench/tenancy.js [--seconds 5] [--rounds 3] [--connections 10]
 */
import { spawn } from 'node:child_process';
import autocannon from 'autocannon';
import pg from 'pg';
import { freePort } from '../src/util/net.js';
import { loadOptions, median } from './measure.js';
import { apiEnvironment, helpersFor, waitUntilUp, withStack } from './stack.js';

const { seconds, rounds, connections } = loadOptions();

await withStack(async (urls) => {
  const { tenant, oauth, scope } = await helpersFor(urls);
  const { newTenant, createOrganisation } = tenant;

  // The data: alice owns "Big" (120 more members) and 55 more organisations.
  const alice = await newTenant(scope);
  const big = await createOrganisation(scope, alice, 'Big');
  // Members are the authorization server's users.
  const crowd = await oauth.newUsers(scope, 120, 'member');
  for (let i = 0; i < 120; i += 20) {
    await Promise.all(
      crowd
        .slice(i, i + 20)
        .map((m) =>
          alice.call('POST', `/v1/organisations/${big.id}/members`, { user: m.id, role: 'member' }),
        ),
    );
  }
  for (let i = 0; i < 55; i += 11) {
    await Promise.all(Array.from({ length: 11 }, (_, j) => createOrganisation(scope, alice, `Org ${i + j}`)));
  }
  await alice.call('PUT', '/v1/active-organisation', { id: big.id });
  const register = (await alice.call('POST', '/v1/registers', { name: 'R' })).json.id as string;
  const schema = (await alice.call('POST', '/v1/schemas', { name: 'S' })).json.id as string;

  // 1. Through a JWT-only api process on the same database.
  const port = await freePort();
  const api = spawn(process.execPath, ['dist/services/api/src/main.js'], {
    env: { ...apiEnvironment(urls), PORT: String(port) },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const base = `http://127.0.0.1:${port}`;
  await waitUntilUp(`${base}/health`, api);
  const headers = { authorization: `Bearer ${alice.token}`, 'content-type': 'application/json' };
  const routes = [
    {
      name: 'read: `GET /v1/organisations` (56 organisations, a page of 20)',
      url: `${base}/v1/organisations`,
      method: 'GET' as const,
    },
    {
      name: 'read: `GET /v1/organisations/{id}/members` (121 members, a page of 50)',
      url: `${base}/v1/organisations/${big.id}/members?limit=50`,
      method: 'GET' as const,
    },
    {
      name: 'write: `POST /v1/objects` (in the active organisation, audited)',
      url: `${base}/v1/objects`,
      method: 'POST' as const,
      body: JSON.stringify({ name: 'o', register, schema, data: { n: 1 } }),
    },
  ];
  const routeRows: string[] = [];
  try {
    for (const r of routes) {
      const samples: { rps: number; p99: number }[] = [];
      for (let i = 0; i <= rounds; i++) {
        const res = await autocannon({
          url: r.url,
          method: r.method,
          headers,
          connections,
          duration: seconds,
          ...(r.body ? { body: r.body } : {}),
        });
        if (res.non2xx > 0) throw new Error(`${r.url}: ${res.non2xx} answers were not 2xx`);
        if (i > 0) samples.push({ rps: res.requests.average, p99: res.latency.p99 }); // round 0 warms up
      }
      routeRows.push(
        `| ${r.name} | ${Math.round(median(samples.map((x) => x.rps)))} | ${median(samples.map((x) => x.p99))} ms |`,
      );
    }
  } finally {
    api.kill('SIGTERM');
  }

  // 2. Row-level security: one query, policies on and bypassed.
  const pool = new pg.Pool({ connectionString: urls.postgres as string, max: connections });
  const sql = `SELECT o.id, o.name, m.role FROM api.organisations o
               JOIN api.memberships m ON m.organisation_id = o.id AND m.user_sub = $1
               ORDER BY o.name LIMIT 20`;
  const members =
    'SELECT user_sub, role FROM api.memberships WHERE organisation_id = $1 ORDER BY created_at LIMIT 50';
  const once = async (rls: boolean) => {
    const db = await pool.connect();
    try {
      await db.query('BEGIN');
      // The same round trips either way, as the api makes them (tenant-db.ts); only the role differs.
      await db.query("SELECT set_config('app.user_sub', $1, true), set_config('role', $2, true)", [
        alice.sub,
        rls ? 'api_tenant' : 'none',
      ]);
      await db.query(sql, [alice.sub]);
      await db.query(members, [big.id]);
      await db.query('COMMIT');
    } finally {
      db.release();
    }
  };
  const run = async (rls: boolean) => {
    const latencies: number[] = [];
    const until = Date.now() + seconds * 1000;
    await Promise.all(
      Array.from({ length: connections }, async () => {
        while (Date.now() < until) {
          const start = performance.now();
          await once(rls);
          latencies.push(performance.now() - start);
        }
      }),
    );
    latencies.sort((a, b) => a - b);
    return { tps: latencies.length / seconds, p99: latencies[Math.floor(latencies.length * 0.99)] as number };
  };
  const rls = { on: [] as { tps: number; p99: number }[], off: [] as { tps: number; p99: number }[] };
  await run(false);
  await run(true);
  for (let i = 0; i < rounds; i++) {
    rls.off.push(await run(false));
    rls.on.push(await run(true));
  }
  await pool.end();
  const row = (name: string, xs: { tps: number; p99: number }[]) =>
    `| ${name} | ${Math.round(median(xs.map((x) => x.tps)))} | ${median(xs.map((x) => x.p99)).toFixed(2)} ms |`;
  const ratio = median(rls.on.map((x) => x.tps)) / median(rls.off.map((x) => x.tps));

  process.stdout.write(
    `api (JWT checks only), ${seconds} s x ${rounds} rounds, ${connections} connections, medians\n\n` +
      `| route | req/s | p99 |\n|---|---|---|\n${routeRows.join('\n')}\n\n` +
      `row-level security: the organisations page and the members page in one transaction, ${connections} clients\n\n` +
      `| mode | transactions/s | p99 |\n|---|---|---|\n${row('owner, policies bypassed', rls.off)}\n${row('api_tenant, policies on', rls.on)}\n\n` +
      `on/off: ${ratio.toFixed(2)}\n`,
  );
});
