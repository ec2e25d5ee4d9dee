// The one normaliser of the golden snapshots (tests/helpers/golden.ts): what differs from run
// to run becomes a placeholder, and what is the response's shape stays.
import t from 'tap';
import { normalise } from './helpers/golden.js';
import { stack } from './helpers/stack.js';

const s = stack();

t.test(
  'timestamps, uuids, JWTs, opaque values, ports, the run id and clocks become placeholders',
  async (t) => {
    t.same(
      normalise({
        created_at: '2026-11-21T22:18:03.431Z',
        id: '7eb8920b-b6d4-405f-ae7c-7c37415a1ad0',
        access_token: 'eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl',
        client_id: '4i3GpVj03ylB1cYyWJWA8wX4u_aZYCpMTYWjkb1mgeo',
        uri: 'http://127.0.0.1:39877/register/Dnmu2SPlIttNLTCrwUUxC3sRI5I7MNWxteCHFLDBaRE',
        name: `TEST ${s.runId} w3 Acme`,
        exp: 1795299483,
        expires_in: 300,
        grant_type: 'authorization_code',
      }),
      {
        access_token: '<jwt>',
        client_id: '<opaque>',
        created_at: '<timestamp>',
        exp: '<time>',
        expires_in: 300,
        grant_type: 'authorization_code',
        id: '<uuid>',
        name: 'TEST <run> Acme',
        uri: 'http://127.0.0.1:<port>/register/<opaque>',
      },
    );
  },
);

t.test('keys and unordered lists are sorted; a list whose order is the contract is kept', async (t) => {
  const body = { items: ['b', 'a'], scopes: ['write', 'read'] };
  t.same(JSON.stringify(normalise(body)), JSON.stringify({ items: ['a', 'b'], scopes: ['read', 'write'] }));
  t.same(normalise(body, { ordered: ['items'] }), { items: ['b', 'a'], scopes: ['read', 'write'] });
  t.same(Object.keys(normalise({ z: 1, a: 2 }) as object), ['a', 'z']);
});
