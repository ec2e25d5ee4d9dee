import net from 'node:net';
import t from 'tap';
import { Agent, request } from 'undici';
import { freePort } from '../src/util/net.js';
import { hasStackTrace, root, run } from './helpers/cli.js';
import { stack } from './helpers/stack.js';

const s = stack();

/** The auth service as a real process, with only the environment given (no .env file). */
function startAuth(env: Record<string, string>) {
  return run(process.execPath, ['dist/services/auth/src/main.js'], {
    cwd: root,
    env: { PATH: process.env.PATH ?? '', ENV_FILE: '/nonexistent/.env', ...env },
    extendEnv: false,
    timeout: 60_000,
  });
}

t.test('a missing variable is named, with what to set, and the service exits 78', async (t) => {
  const res = await startAuth({});
  t.equal(res.exitCode, 78);
  t.match(res.all, /DATABASE_URL is not set; set it in the environment/);
  t.notOk(hasStackTrace(res.all), 'no stack trace');
});

t.test('a bad value is named with what was wrong', async (t) => {
  const res = await startAuth({ DATABASE_URL: 'mysql://x', PORT: 'eighty', PASSWORD_SCRYPT_N: '1000' });
  t.equal(res.exitCode, 78);
  t.match(res.all, /PORT="eighty" must be a whole number/);
  t.match(res.all, /PASSWORD_SCRYPT_N="1000" must be a power of two from 1024 to 131072 \(scrypt's cost/);
  t.match(res.all, /DATABASE_URL="mysql:\/\/x" has protocol "mysql:", expected postgres:/);
  t.match(res.all, /ISSUER is not set; set it in the environment/, 'every problem at once');
  t.notOk(hasStackTrace(res.all), 'no stack trace');
});

t.test('an unreachable PostgreSQL is named by URL, password hidden, and the service exits 69', async (t) => {
  const port = await freePort();
  const res = await startAuth({
    ISSUER: 'http://127.0.0.1:4000',
    REALSTACK_ADMIN_TOKEN: 'x'.repeat(32),
    REALSTACK_RESOURCE_SECRET: 'y'.repeat(32),
    RESOURCES: 'https://api.realstack.test',
    DATABASE_URL: `postgres://u:secret@127.0.0.1:${port}/db`,
    DB_CONNECT_TIMEOUT_MS: '1000',
  });
  t.equal(res.exitCode, 69);
  t.match(res.all, `cannot reach PostgreSQL at postgres://u:***@127.0.0.1:${port}/db`);
  t.notMatch(res.all, 'secret');
  t.match(res.all, /Check that the server is running/);
  t.notOk(hasStackTrace(res.all), 'no stack trace');
});

t.test(
  'SIGTERM while starting (PostgreSQL not answering yet) exits 0 at once, not at the connect timeout',
  async (t) => {
    // A port that accepts and never answers: the service waits on its first connection.
    const silent = net.createServer(() => {}).listen(0, '127.0.0.1');
    t.teardown(() => silent.close());
    await new Promise((r) => silent.once('listening', r));
    const { port } = silent.address() as net.AddressInfo;
    const child = startAuth({
      ISSUER: 'http://127.0.0.1:4000',
      REALSTACK_ADMIN_TOKEN: 'x'.repeat(32),
      REALSTACK_RESOURCE_SECRET: 'y'.repeat(32),
      RESOURCES: 'https://api.realstack.test',
      DATABASE_URL: `postgres://u:p@127.0.0.1:${port}/db`,
      DB_CONNECT_TIMEOUT_MS: '60000',
    });
    // Its first connection attempt shows that the service has got past its configuration.
    await new Promise((r) => silent.once('connection', r));
    child.kill('SIGTERM');
    const res = await child;
    t.equal(res.exitCode, 0, 'exit 0, not killed by the signal');
    t.match(res.all, 'SIGTERM while starting; not starting');
    t.notOk(hasStackTrace(res.all), 'no stack trace');
  },
);

t.test('SIGTERM stops gracefully with a keep-alive client connected: exit 0', async (t) => {
  const port = await freePort();
  const child = startAuth({
    ISSUER: `http://127.0.0.1:${port}`,
    REALSTACK_ADMIN_TOKEN: 'x'.repeat(32),
    REALSTACK_RESOURCE_SECRET: 'y'.repeat(32),
    RESOURCES: 'https://api.realstack.test',
    DATABASE_URL: s.postgres,
    PORT: String(port),
    HOST: '127.0.0.1',
  });
  const agent = new Agent({ keepAliveTimeout: 60_000 });
  t.teardown(() => agent.close());
  let status = 0;
  for (let i = 0; i < 100 && status !== 200; i++) {
    status = await request(`http://127.0.0.1:${port}/health`, { dispatcher: agent }).then(
      async (r) => {
        await r.body.dump();
        return r.statusCode;
      },
      () => 0,
    );
    if (status !== 200) await new Promise((r) => setTimeout(r, 100));
  }
  t.equal(status, 200, 'healthy before the stop');
  child.kill('SIGTERM');
  const res = await child;
  t.equal(res.exitCode, 0, 'exit status 0');
  t.match(res.all, /"msg":"stopping gracefully"/);
  t.match(res.all, /"msg":"stopped"/);
});
