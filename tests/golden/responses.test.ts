// GOLDEN: snapshots of real responses of the running services, through the one normaliser
// (tests/helpers/golden.ts). A change of shape fails here; `npx just test-golden-update`
// rewrites the snapshots (tap-snapshots/), to be reviewed and committed like code.
import t from 'tap';
import { goldenResponse } from '../helpers/golden.js';
import { get, newClient, post } from '../helpers/oauth.js';
import { stack } from '../helpers/stack.js';
import { callAs, createOrganisation, newTenant } from '../helpers/tenant.js';

const s = stack();

t.test('the metadata documents: RFC 8414 and RFC 9728', async (t) => {
  t.matchSnapshot(goldenResponse(await get(`${s.auth}/.well-known/oauth-authorization-server`)), 'auth');
  t.matchSnapshot(goldenResponse(await get(`${s.api}/.well-known/oauth-protected-resource`)), 'api');
});

t.test('a registration, and a token request with a code that was never issued', async (t) => {
  const client = await newClient(t);
  const read = await get(client.registration_client_uri, {
    authorization: `Bearer ${client.registration_access_token}`,
  });
  t.matchSnapshot(goldenResponse(read), 'RFC 7592 read of a public client');
  const bogus = await post('/token', {
    grant_type: 'authorization_code',
    code: 'never-issued',
    code_verifier: 'x'.repeat(43),
    redirect_uri: client.redirect_uris[0],
    client_id: client.client_id,
  });
  t.matchSnapshot(goldenResponse(bogus), 'invalid_grant');
});

t.test('the api: no token, who am I, an organisation and its members', async (t) => {
  t.matchSnapshot(goldenResponse(await callAs(undefined, 'GET', '/v1/organisations')), 'no token');
  const alice = await newTenant(t);
  t.matchSnapshot(goldenResponse(await alice.call('GET', '/v1/me')), '/v1/me');
  const org = await createOrganisation(t, alice, 'Golden');
  t.matchSnapshot(goldenResponse(await alice.call('GET', `/v1/organisations/${org.id}`)), 'an organisation');
  t.matchSnapshot(
    goldenResponse(await alice.call('GET', `/v1/organisations/${org.id}/members`), { ordered: ['items'] }),
    'its members',
  );
  t.matchSnapshot(
    goldenResponse(await alice.call('POST', '/v1/organisations', { name: 'n'.repeat(201) })),
    'a name too long',
  );
});
