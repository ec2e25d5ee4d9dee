// Roles across operations (shared/tenancy-scenarios.md area 10, "RBAC across roles"): an owner,
// an admin and a member of one organisation each try every role-bound operation.
import t from 'tap';
import { newUser } from './helpers/oauth.js';
import { stack } from './helpers/stack.js';
import { createOrganisation, newTenant, type Tenant } from './helpers/tenant.js';

const s = stack();

t.test('10 RBAC: what an owner, an admin and a member may do in one organisation', async (t) => {
  const owner = await newTenant(t);
  const org = await createOrganisation(t, owner, 'Roles matrix');
  const people: Record<'owner' | 'admin' | 'member', Tenant> = {
    owner,
    admin: await newTenant(t),
    member: await newTenant(t),
  };
  for (const role of ['admin', 'member'] as const) {
    t.equal(
      (await owner.call('POST', `/v1/organisations/${org.id}/members`, { user: people[role].sub, role }))
        .status,
      201,
    );
  }
  for (const p of Object.values(people)) await p.call('PUT', '/v1/active-organisation', { id: org.id });
  let n = 0;
  // A user of the auth service who never signed in: members are the authorization server's users.
  const target = async () => (await newUser(t, `rbac${n++}`)).id;
  const name = () => `TEST ${s.runId} rbac ${n++}`;
  /** Each operation, with a fresh target where it consumes one. */
  const operations: [string, (who: Tenant) => Promise<number>, Record<string, number>][] = [
    [
      'read the organisation',
      async (w) => (await w.call('GET', `/v1/organisations/${org.id}`)).status,
      { owner: 200, admin: 200, member: 200 },
    ],
    [
      'rename it',
      async (w) => (await w.call('PATCH', `/v1/organisations/${org.id}`, { description: 'x' })).status,
      { owner: 200, admin: 200, member: 403 },
    ],
    [
      'add a member',
      async (w) =>
        (
          await w.call('POST', `/v1/organisations/${org.id}/members`, {
            user: await target(),
            role: 'member',
          })
        ).status,
      { owner: 201, admin: 201, member: 403 },
    ],
    [
      'add an owner',
      async (w) =>
        (await w.call('POST', `/v1/organisations/${org.id}/members`, { user: await target(), role: 'owner' }))
          .status,
      { owner: 201, admin: 403, member: 403 },
    ],
    [
      'remove a member',
      async (w) => {
        const user = await target();
        const added = await owner.call('POST', `/v1/organisations/${org.id}/members`, {
          user,
          role: 'member',
        });
        t.equal(added.status, 201, `the owner adds ${user} first`);
        return (await w.call('DELETE', `/v1/organisations/${org.id}/members/${encodeURIComponent(user)}`))
          .status;
      },
      { owner: 204, admin: 204, member: 403 },
    ],
    [
      'remove a co-owner',
      async (w) => {
        const user = await target();
        const added = await owner.call('POST', `/v1/organisations/${org.id}/members`, {
          user,
          role: 'owner',
        });
        t.equal(added.status, 201, `the owner adds ${user} first`);
        return (await w.call('DELETE', `/v1/organisations/${org.id}/members/${encodeURIComponent(user)}`))
          .status;
      },
      { owner: 204, admin: 403, member: 403 },
    ],
    [
      'remove the organisation’s owner',
      async (w) => (await w.call('DELETE', `/v1/organisations/${org.id}/members/${owner.sub}`)).status,
      { owner: 409, admin: 409, member: 403 },
    ],
    [
      'read the audit trail',
      async (w) => (await w.call('GET', `/v1/organisations/${org.id}/audit`)).status,
      { owner: 200, admin: 200, member: 200 },
    ],
    [
      'create a register',
      async (w) => (await w.call('POST', '/v1/registers', { name: name() })).status,
      { owner: 201, admin: 201, member: 201 },
    ],
    [
      'delete a register',
      async (w) => {
        const made = await owner.call('POST', '/v1/registers', { name: name() });
        t.equal(made.status, 201, 'the owner makes the register first');
        const id = made.json.id;
        return (await w.call('DELETE', `/v1/registers/${id}`)).status;
      },
      { owner: 204, admin: 204, member: 403 },
    ],
  ];
  for (const [what, run, expected] of operations) {
    for (const role of ['owner', 'admin', 'member'] as const) {
      t.equal(await run(people[role]), expected[role], `${role}: ${what} → ${expected[role]}`);
    }
  }
  t.equal(
    (await people.admin.call('DELETE', `/v1/organisations/${org.id}`)).status,
    403,
    'admin: delete the organisation → 403',
  );
  t.equal(
    (await people.member.call('DELETE', `/v1/organisations/${org.id}`)).status,
    403,
    'member: delete the organisation → 403',
  );
});

t.test(
  'a member removing someone who is not a member hears 403, not 404: the right is checked first',
  async (t) => {
    const owner = await newTenant(t);
    const member = await newTenant(t);
    const org = await createOrganisation(t, owner, 'Order of checks');
    t.equal(
      (await owner.call('POST', `/v1/organisations/${org.id}/members`, { user: member.sub, role: 'member' }))
        .status,
      201,
    );
    const res = await member.call(
      'DELETE',
      `/v1/organisations/${org.id}/members/${encodeURIComponent(`TEST ${s.runId} nobody`)}`,
    );
    t.equal(res.status, 403);
    t.match(res.json.error_description, 'only an owner or an admin removes members');
    const asOwner = await owner.call(
      'DELETE',
      `/v1/organisations/${org.id}/members/${encodeURIComponent(`TEST ${s.runId} nobody`)}`,
    );
    t.equal(asOwner.status, 404, 'to those who may remove members, a missing one is a 404');
  },
);
