// The active-organisation cache across two api replicas (tenancy-scenarios.md area 7): a stack of
// its own with `--scale api=2`, one person, a change through one replica read through the other.
import t from 'tap';
import { request } from 'undici';
import { exitedZero, realstack, testRunId } from './helpers/cli.js';

const env = { REALSTACK_ENGINE: 'process', REALSTACK_RUN_ID: testRunId('replicas') };

t.test(
  'area 7: an active-organisation change through one replica is seen through the other, never stale',
  async (t) => {
    exitedZero(t, await realstack(['up', '--scale', 'api=2'], env), 'a stack with two api replicas');
    t.teardown(() => realstack(['down'], env));
    const ps = JSON.parse((await realstack(['ps', '--json'], env)).stdout) as {
      services: { name: string; url: string; instances: { url: string }[] }[];
    };
    const service = (name: string) => ps.services.find((s) => s.name === name);
    const [one, two] = (service('api')?.instances ?? []).map((i) => i.url);
    t.ok(one && two && one !== two, 'two replicas, two addresses');
    // The helpers read the stack from the environment: point them at this one.
    Object.assign(process.env, {
      REALSTACK_RUN_ID: env.REALSTACK_RUN_ID,
      REALSTACK_AUTH_URL: service('auth')?.url,
      REALSTACK_API_URL: one,
      REALSTACK_POSTGRES_URL: service('postgres')?.url,
    });
    const { newTenant, createOrganisation } = await import('./helpers/tenant.js');
    const alice = await newTenant(t);
    const call = async (url: string, method: 'GET' | 'PUT' | 'DELETE', path: string, body?: unknown) => {
      const res = await request(`${url}${path}`, {
        method,
        headers: {
          authorization: `Bearer ${alice.token}`,
          ...(body ? { 'content-type': 'application/json' } : {}),
        },
        body: body ? JSON.stringify(body) : null,
      });
      const text = await res.body.text();
      return { status: res.statusCode, json: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
    };
    // The other replica hears of a change when PostgreSQL delivers the NOTIFY of its commit, a
    // moment after the writer answers: wait for it, briefly.
    const seenThrough = async (url: string, id: string) => {
      for (let i = 0; i < 20; i++) {
        if ((await call(url, 'GET', '/v1/active-organisation')).json.id === id) return true;
        await new Promise((r) => setTimeout(r, 50));
      }
      return false;
    };

    const first = await call(two as string, 'GET', '/v1/active-organisation');
    t.equal(first.json.is_default, true, 'replica 2 caches the default as active');
    const org = await createOrganisation(t, alice, 'Replicated');
    for (let round = 0; round < 5; round++) {
      const target = round % 2 === 0 ? org.id : (first.json.id as string);
      t.equal(
        (await call(one as string, 'PUT', '/v1/active-organisation', { id: target })).status,
        200,
        `round ${round}: set on replica 1`,
      );
      t.ok(await seenThrough(two as string, target), `round ${round}: replica 2 sees it within a second`);
      t.equal(
        (await call(one as string, 'GET', '/v1/active-organisation')).json.id,
        target,
        `round ${round}: replica 1 too`,
      );
    }
    t.equal(
      (await call(two as string, 'DELETE', '/v1/active-organisation/cache')).status,
      204,
      'the cache is cleared on demand',
    );
    t.equal(
      (await call(one as string, 'GET', '/v1/active-organisation')).json.id,
      org.id,
      'and the stored choice stays',
    );
  },
);
