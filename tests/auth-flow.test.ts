// The whole OAuth 2.1 flow against the running stack, as a client application and a person
// would go through it: register → authorize → login → consent → code → token → call the api
// → refresh → revoke → the api refuses.
import t from 'tap';
import {
  API_RESOURCE,
  authorizeAs,
  authorizeUrl,
  Browser,
  callApi,
  introspect,
  newClient,
  newUser,
  pkce,
  post,
  redeem,
  refresh,
} from './helpers/oauth.js';
import { stack } from './helpers/stack.js';

const s = stack();

t.test(
  'smoke: end to end: register, authorize, log in, consent, redeem, call the api, refresh, revoke',
  async (t) => {
    const client = await newClient(t);
    const user = await newUser(t);
    const { verifier, challenge } = pkce();
    const state = 'opaque ✓ state/with?odd=chars&x';
    const back = await authorizeAs(
      new Browser(),
      authorizeUrl(client, {
        code_challenge: challenge,
        code_challenge_method: 'S256',
        scope: 'profile',
        state,
        resource: API_RESOURCE,
      }),
      user,
    );
    t.equal(`${back.origin}${back.pathname}`, client.redirect_uris[0], 'back at the client');
    t.equal(back.searchParams.get('state'), state, 'state byte for byte');
    t.equal(back.searchParams.get('iss'), new URL(s.auth).origin, 'iss (RFC 9207)');
    const code = back.searchParams.get('code') as string;
    t.match(code, /^[\w-]{43}$/, 'a 256-bit code');

    const tokens = await redeem(client, code, verifier);
    t.equal(tokens.status, 200, 'the code is redeemed');
    const { access_token, refresh_token } = tokens.json as { access_token: string; refresh_token: string };

    const me = await callApi(access_token);
    t.equal(me.status, 200, 'the api accepts the access token');
    t.equal(me.json.client_id, client.client_id);
    t.equal(me.json.scope, 'profile');

    const refreshed = await refresh(client, refresh_token);
    t.equal(refreshed.status, 200, 'the refresh token is exchanged');
    const next = refreshed.json as { access_token: string; refresh_token: string };
    t.equal((await callApi(next.access_token)).status, 200, 'the refreshed access token works');

    const revoked = await post('/revoke', { token: next.refresh_token, client_id: client.client_id });
    t.equal(revoked.status, 200);
    t.equal((await callApi(next.access_token)).status, 401, 'the api refuses the grant’s access token');
    t.same((await introspect(next.access_token)).json, { active: false });
    t.equal((await refresh(client, next.refresh_token)).json.error, 'invalid_grant');
  },
);
