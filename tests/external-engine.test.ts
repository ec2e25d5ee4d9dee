import t from 'tap';
import { request } from 'undici';
import { hasStackTrace, realstack } from './helpers/cli.js';
import { externalEnv, stack } from './helpers/stack.js';

const s = stack();
const external = externalEnv(s);

t.test(
  'external engine: attaches to a running stack by its URLs, healthy, and starts or stops nothing',
  async (t) => {
    const ps = await realstack(['ps', '--json'], external);
    t.equal(ps.exitCode, 0, ps.all);
    const services = (
      JSON.parse(ps.stdout) as { services: { name: string; engine: string; url: string; health: string }[] }
    ).services;
    t.same(
      services.map((x) => [x.name, x.engine, x.health, x.url]),
      [
        ['postgres', 'external', 'healthy', s.postgres],
        ['auth', 'external', 'healthy', s.auth],
        ['api', 'external', 'healthy', s.api],
      ],
    );
    t.equal((await realstack(['down'], external)).exitCode, 0);
    const res = await request(`${s.auth}/health`);
    t.equal(res.statusCode, 200, 'the stack is still up after an external `down`');
    await res.body.dump();
  },
);

t.test('external engine without the URLs names the variables to set', async (t) => {
  const res = await realstack(['ps'], {
    REALSTACK_ENGINE: 'external',
    REALSTACK_AUTH_URL: '',
    REALSTACK_API_URL: '',
    REALSTACK_POSTGRES_URL: '',
  });
  t.equal(res.exitCode, 1);
  t.match(res.stderr, 'set REALSTACK_POSTGRES_URL, REALSTACK_AUTH_URL, REALSTACK_API_URL');
  t.notOk(hasStackTrace(res.stderr));
});
