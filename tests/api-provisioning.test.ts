// The tenant provisioning journey (shared/tenancy-scenarios.md, from the provisioning seed), end
// to end against the running stack: an operator creates a tenant and invites its first admin, who
// signs in through the OAuth flow and sees that tenant and nothing else.
import t from 'tap';
import { newUser } from './helpers/oauth.js';
import { createOrganisation, newTenant } from './helpers/tenant.js';

t.test(
  'provisioning: create a tenant, invite its first admin, who signs in and sees only that tenant',
  async (t) => {
    const operator = await newTenant(t);
    const other = await newTenant(t);
    const rival = await createOrganisation(t, other, 'Rival tenant');
    await other.call('PUT', '/v1/active-organisation', { id: rival.id });
    const rivalRegister = await other.call('POST', '/v1/registers', { name: 'Rival register' });
    t.equal(rivalRegister.status, 201);

    const tenant = await createOrganisation(t, operator, 'Fresh tenant');
    const invitee = await newUser(t, 'first-admin');
    const invited = await operator.call('POST', `/v1/organisations/${tenant.id}/members`, {
      user: invitee.id,
      role: 'admin',
    });
    t.equal(invited.status, 201, 'the operator invites the first admin by their auth id');

    // The invitee signs in for the first time: login form, consent, code, token.
    const admin = await newTenant(t, undefined, invitee);
    t.equal(admin.sub, invitee.id, 'the token speaks for the invited user');
    const orgs = await admin.call('GET', '/v1/organisations');
    t.same(
      (orgs.json.items as { id: string; role: string }[]).map((o) => [o.id, o.role]),
      [[tenant.id, 'admin']],
      'they see exactly their tenant, as its admin (an invited user does not join the default)',
    );
    t.equal(
      (await admin.call('GET', '/v1/active-organisation')).json.id,
      tenant.id,
      'it is their active organisation',
    );
    const register = await admin.call('POST', '/v1/registers', { name: 'Tenant register' });
    t.equal(register.status, 201, 'they work in it');
    const registers = await admin.call('GET', '/v1/registers?limit=100');
    t.same(
      (registers.json.items as { name: string }[]).map((r) => r.name),
      ['Tenant register'],
      'and see only its data',
    );
    t.equal(
      (await admin.call('GET', `/v1/registers/${rivalRegister.json.id}`)).status,
      404,
      "another tenant's data is out of reach",
    );
    t.equal((await admin.call('GET', `/v1/organisations/${rival.id}`)).status, 404);
    const next = await newUser(t, 'second-member');
    const invite = await admin.call('POST', `/v1/organisations/${tenant.id}/members`, {
      user: next.id,
      role: 'member',
    });
    t.equal(invite.status, 201, 'as its admin they invite the next member');
  },
);
