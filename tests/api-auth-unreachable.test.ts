// The api when the authorization server cannot answer (services/kit/src/authorization-server.ts):
// a second api process on the stack's own database reaches the real auth service through a
// small HTTP relay in this test, which passes requests on or fails the ones a test names. A
// caller must hear 503 temporarily_unavailable with Retry-After (RFC 6749 §4.1.2.1's word: try
// again), never a 401 that calls its good token bad, nor a 500.
import { type ChildProcess, spawn } from 'node:child_process';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import t from 'tap';
import { request } from 'undici';
import { freePort } from '../src/util/net.js';
import { root } from './helpers/cli.js';
import { processPassOnly } from './helpers/engines.js';
import { newUser } from './helpers/oauth.js';
import { stack } from './helpers/stack.js';
import { createOrganisation, newTenant } from './helpers/tenant.js';
import { waitUntilUp } from './helpers/wait.js';

const s = stack();
const skip = processPassOnly();

/** What the relay does with a path: pass it on to auth, answer this status, or drop the connection. */
const faults = new Map<string, number | 'drop'>();
const relay = http.createServer(async (req, res) => {
  const fault = [...faults].find(([prefix]) => req.url?.startsWith(prefix))?.[1];
  if (fault === 'drop') return req.socket.destroy();
  if (fault !== undefined) {
    res.writeHead(fault, { 'content-type': 'text/plain' }).end(`relay: ${fault}`);
    return;
  }
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  const { host: _host, ...headers } = req.headers;
  const upstream = await request(`${s.auth}${req.url}`, {
    method: req.method as 'GET',
    headers,
    body: chunks.length > 0 ? Buffer.concat(chunks) : null,
  });
  res.writeHead(upstream.statusCode, upstream.headers as http.OutgoingHttpHeaders);
  res.end(Buffer.from(await upstream.body.arrayBuffer()));
});

let api: ChildProcess | undefined;
let base = '';
t.before(async () => {
  if (skip) return;
  await new Promise<void>((r) => relay.listen(0, '127.0.0.1', r));
  const port = await freePort();
  api = spawn(process.execPath, [path.join(root, 'dist/services/api/src/main.js')], {
    env: {
      PATH: process.env.PATH ?? '',
      DATABASE_URL: s.postgres,
      HOST: '127.0.0.1',
      PORT: String(port),
      LOG_LEVEL: 'fatal',
      ENV_FILE: '/nonexistent',
      ISSUER: new URL(s.auth).origin,
      AUTH_URL: `http://127.0.0.1:${(relay.address() as AddressInfo).port}`,
      RESOURCE: 'https://api.realstack.test',
      REALSTACK_ADMIN_TOKEN: process.env.REALSTACK_ADMIN_TOKEN ?? '',
      REALSTACK_RESOURCE_SECRET: process.env.REALSTACK_RESOURCE_SECRET ?? '',
      // Keys are fetched again at once when a test changes what the relay does.
      JWKS_COOLDOWN_MS: '0',
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  base = `http://127.0.0.1:${port}`;
  await waitUntilUp(`${base}/health`, api);
});
t.teardown(async () => {
  if (api && api.exitCode === null) {
    const exited = new Promise((r) => api?.once('exit', r));
    api.kill('SIGTERM');
    await exited;
  }
  relay.close();
});

const call = async (token: string, method: 'GET' | 'POST', url: string, body?: unknown) => {
  const res = await request(`${base}${url}`, {
    method,
    headers: {
      authorization: `Bearer ${token}`,
      ...(body ? { 'content-type': 'application/json' } : {}),
    },
    body: body ? JSON.stringify(body) : null,
  });
  return {
    status: res.statusCode,
    retryAfter: res.headers['retry-after'],
    json: (await res.body.json()) as { error?: string; error_description?: string; items?: unknown[] },
  };
};

// First: the api has fetched no keys yet, so the token's key id sends it to the JWKS.
t.test('its signing keys out of reach: 503 with Retry-After, not a 401', { skip }, async (t) => {
  const alice = await newTenant(t);
  for (const fault of ['drop', 502] as const) {
    faults.clear();
    faults.set('/.well-known/jwks.json', fault);
    const res = await call(alice.token, 'GET', '/v1/organisations');
    t.equal(res.status, 503, `JWKS ${fault}`);
    t.equal(res.retryAfter, '1');
    t.equal(res.json.error, 'temporarily_unavailable');
    t.match(res.json.error_description, /the authorization server cannot .*fetch its signing keys/);
  }
  faults.clear();
});

t.test('through the relay, with nothing failed, the second api answers as the first', { skip }, async (t) => {
  faults.clear();
  const alice = await newTenant(t);
  const res = await call(alice.token, 'GET', '/v1/organisations');
  t.equal(res.status, 200);
  t.ok(Array.isArray(res.json.items));
});

t.test('introspection out of reach: 503; an unexpected answer: 500, no details', { skip }, async (t) => {
  const alice = await newTenant(t);
  faults.clear();
  // The keys first, so that only introspection fails below.
  t.equal((await call(alice.token, 'GET', '/v1/organisations')).status, 200);
  for (const fault of ['drop', 500, 503] as const) {
    faults.set('/introspect', fault);
    const res = await call(alice.token, 'GET', '/v1/organisations');
    t.equal(res.status, 503, `introspection ${fault}`);
    t.match(res.json.error_description, /the authorization server cannot .*check the token/);
  }
  faults.set('/introspect', 404);
  const odd = await call(alice.token, 'GET', '/v1/organisations');
  t.equal(odd.status, 500, 'a 404 from introspection is a misconfiguration, not a retry');
  t.same(odd.json, { error: 'server_error', error_description: 'the server failed; the failure is logged' });
  faults.clear();
});

t.test('who a new member is, out of reach: 503, and nobody is added', { skip }, async (t) => {
  faults.clear();
  const alice = await newTenant(t);
  const bob = await newUser(t, 'bob');
  const org = (await createOrganisation(t, alice, 'auth away')).id;
  faults.set('/admin/users', 'drop');
  const add = await call(alice.token, 'POST', `/v1/organisations/${org}/members`, {
    user: bob.id,
    role: 'member',
  });
  t.equal(add.status, 503);
  t.match(add.json.error_description, /the authorization server cannot be reached/);
  faults.clear();
  const members = await call(alice.token, 'GET', `/v1/organisations/${org}/members`);
  t.same(
    (members.json.items as { user: string }[]).map((m) => m.user),
    [alice.sub],
    'only the owner',
  );
  const again = await call(alice.token, 'POST', `/v1/organisations/${org}/members`, {
    user: bob.id,
    role: 'member',
  });
  t.equal(again.status, 201, 'once auth answers, the same request succeeds');
});
