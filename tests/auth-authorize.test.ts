// The authorization endpoint and its pages (oauth-checklist.md A1-A12), driven over HTTP as a
// browser would. Sources: OAuth 2.1 draft 16 (§4.1, §2.3.1, §8.4.2), RFC 7636, RFC 8707, RFC 9207.
import { createHash } from 'node:crypto';
import pg from 'pg';
import t, { type Test } from 'tap';
import {
  authorizeAs,
  authorizeUrl,
  Browser,
  type Client,
  get,
  hiddenField,
  location,
  newClient,
  newUser,
  pkce,
  REDIRECT,
} from './helpers/oauth.js';
import { stack } from './helpers/stack.js';

const s = stack();
const iss = new URL(s.auth).origin;
const { challenge } = pkce();
const good = { code_challenge: challenge, code_challenge_method: 'S256', scope: 'profile', state: 's-1' };

/** An /authorize request that must come back to the client with an error, state and iss. */
async function errorRedirect(
  t: Test,
  client: Client,
  params: Record<string, string | undefined>,
  error: string,
) {
  const res = await get(authorizeUrl(client, params));
  t.equal(res.status, 303, `${error}: sent back to the client`);
  const back = new URL(location(res));
  t.equal(`${back.origin}${back.pathname}`, REDIRECT);
  t.equal(back.searchParams.get('error'), error);
  t.ok(back.searchParams.get('error_description'), 'with a description');
  t.equal(back.searchParams.get('state'), params.state ?? null, 'state comes back');
  t.equal(back.searchParams.get('iss'), iss, 'iss (RFC 9207)');
}

/** An /authorize request that must stop at an error page: nothing is sent to the redirect URI. */
async function errorPage(t: Test, url: string, what: string) {
  const res = await get(url);
  t.equal(res.status, 400, `${what}: 400`);
  t.notOk(res.headers.location, `${what}: no redirect`);
  t.match(res.headers['content-type'], /text\/html/);
  t.match(res.text, /This request cannot continue/);
}

t.test(
  'A1 2.1 §4.1.2: a valid request ends at the redirect URI with a code, the exact state and iss; the code lives at most 10 minutes',
  async (t) => {
    const client = await newClient(t);
    const state = 'ünïcode & spaces/+?=#';
    const back = await authorizeAs(new Browser(), authorizeUrl(client, { ...good, state }), await newUser(t));
    t.equal(back.searchParams.get('state'), state, 'state byte-exact');
    t.equal(back.searchParams.get('iss'), iss);
    const code = back.searchParams.get('code') as string;
    const db = new pg.Client({ connectionString: s.postgres });
    await db.connect();
    t.teardown(() => db.end());
    const hash = createHash('sha256').update(code).digest('base64url');
    const row = (
      await db.query(
        'SELECT extract(epoch from expires_at - now()) AS left FROM auth.codes WHERE code_hash = $1',
        [hash],
      )
    ).rows[0];
    t.ok(row && Number(row.left) > 0 && Number(row.left) <= 600, `the code expires in ${row?.left} s`);
  },
);

t.test('A2 2.1 §4.1.1: no code_challenge → invalid_request at the client, with state and iss', async (t) => {
  const client = await newClient(t);
  await errorRedirect(t, client, { ...good, code_challenge: undefined }, 'invalid_request');
});

t.test('A3 2.1 §4.1.1: code_challenge_method plain, missing or s256 → invalid_request', async (t) => {
  const client = await newClient(t);
  for (const method of ['plain', undefined, 's256']) {
    await errorRedirect(t, client, { ...good, code_challenge_method: method }, 'invalid_request');
  }
});

t.test(
  'A4 RFC 7636 §4.2: a challenge of 42 or 129 characters, or outside [A-Za-z0-9-._~] → invalid_request',
  async (t) => {
    const client = await newClient(t);
    for (const c of ['a'.repeat(42), 'a'.repeat(129), `${'a'.repeat(42)}+`, `${'a'.repeat(42)}=`]) {
      await errorRedirect(t, client, { ...good, code_challenge: c }, 'invalid_request');
    }
  },
);

t.test('A5 2.1 §4.1.2.1: an unknown or missing client_id → a 400 page, no redirect', async (t) => {
  const client = await newClient(t);
  await errorPage(t, authorizeUrl({ ...client, client_id: 'no-such-client' }, good), 'unknown client');
  await errorPage(
    t,
    `${s.auth}/authorize?response_type=code&redirect_uri=${encodeURIComponent(REDIRECT)}`,
    'no client_id',
  );
});

t.test(
  'A6 2.1 §2.3.1: a redirect URI not byte-identical to the registered one → a 400 page, no redirect',
  async (t) => {
    const registered = 'https://client.example/cb';
    const client = await newClient(t, { redirect_uris: [registered] });
    const variants = [
      'https://client.example/cb/',
      'https://client.example/cb?extra=1',
      'https://CLIENT.example/cb',
      'https://client.example/CB',
      'https://client.example:8443/cb',
      'https://client.example/x/../cb',
      'https://client.example%2Fcb',
      'https://client.example/cb%2F',
      'http://client.example/cb',
      'https://client.example/cb#frag',
      'https://user@client.example/cb',
    ];
    for (const redirect_uri of variants)
      await errorPage(t, authorizeUrl(client, { ...good, redirect_uri }), redirect_uri);
    const exact = await get(authorizeUrl(client, { ...good, redirect_uri: registered }));
    t.equal(exact.status, 303, 'the exact URI is accepted');
  },
);

t.test('A7 2.1 §8.4.2: a loopback redirect URI matches on any port, and only on the port', async (t) => {
  const client = await newClient(t, { redirect_uris: ['http://127.0.0.1:8765/callback', 'http://[::1]/cb'] });
  for (const redirect_uri of [
    'http://127.0.0.1:51234/callback',
    'http://127.0.0.1/callback',
    'http://[::1]:40000/cb',
  ]) {
    const res = await get(authorizeUrl(client, { ...good, redirect_uri }));
    t.equal(res.status, 303, `${redirect_uri} is accepted`);
    t.match(location(res), /^\/login\?request=/);
  }
  for (const redirect_uri of [
    'http://127.0.0.1:51234/callback/',
    'http://localhost:8765/callback',
    'http://127.0.0.2:8765/callback',
  ]) {
    await errorPage(t, authorizeUrl(client, { ...good, redirect_uri }), redirect_uri);
  }
});

t.test(
  'A8 RFC 6749 §3.1: duplicated parameters are an error, empty ones are absent, unknown ones are ignored',
  async (t) => {
    const client = await newClient(t);
    await errorPage(t, `${authorizeUrl(client, good)}&client_id=${client.client_id}`, 'client_id twice');
    await errorPage(
      t,
      `${authorizeUrl(client, good)}&redirect_uri=${encodeURIComponent(REDIRECT)}`,
      'redirect_uri twice',
    );
    const twice = await get(`${authorizeUrl(client, good)}&scope=profile`);
    const back = new URL(location(twice));
    t.equal(back.searchParams.get('error'), 'invalid_request', 'scope twice → invalid_request');
    t.match(back.searchParams.get('error_description'), /scope/);
    const empty = new URL(
      location(await get(`${authorizeUrl(client, { ...good, code_challenge: undefined })}&code_challenge=`)),
    );
    t.equal(empty.searchParams.get('error'), 'invalid_request', 'an empty code_challenge is a missing one');
    const unknown = await get(`${authorizeUrl(client, good)}&something_else=1`);
    t.match(location(unknown), /^\/login\?request=/, 'an unknown parameter is ignored');
  },
);

t.test(
  'A9 2.1 §4.1.2.1: an unsupported response_type, a bad scope, and Deny come back as errors with state and iss',
  async (t) => {
    const client = await newClient(t, { scope: 'profile' });
    await errorRedirect(t, client, { ...good, response_type: 'token' }, 'unsupported_response_type');
    await errorRedirect(t, client, { ...good, scope: 'admin' }, 'invalid_scope');
    await errorRedirect(t, client, { ...good, scope: 'organisations:write' }, 'invalid_scope');
    const denied = await authorizeAs(new Browser(), authorizeUrl(client, good), await newUser(t), 'deny');
    t.equal(denied.searchParams.get('error'), 'access_denied');
    t.equal(denied.searchParams.get('state'), good.state);
    t.equal(denied.searchParams.get('iss'), iss);
    t.notOk(denied.searchParams.get('code'), 'no code');
  },
);

t.test('A10 RFC 8707 §2: a relative, fragment-carrying or unknown resource → invalid_target', async (t) => {
  const client = await newClient(t);
  for (const resource of ['/api', 'https://api.realstack.test#x', 'https://elsewhere.example']) {
    await errorRedirect(t, client, { ...good, resource }, 'invalid_target');
  }
});

t.test(
  "A11 login and consent pages: frame-ancestors 'none', no CORS, 303 after the credential POST",
  async (t) => {
    const client = await newClient(t);
    const user = await newUser(t);
    const browser = new Browser();
    const start = await browser.get(authorizeUrl(client, good));
    const login = await browser.get(location(start));
    const pageChecks = (page: typeof login, name: string) => {
      t.equal(page.status, 200, `${name} page`);
      t.match(page.headers['content-security-policy'], /frame-ancestors 'none'/, `${name}: never framed`);
      t.equal(page.headers['x-frame-options'], 'DENY');
      t.notOk(page.headers['access-control-allow-origin'], `${name}: no CORS`);
    };
    pageChecks(login, 'login');
    t.match(login.text, /<label for="username">Username<\/label>/);
    t.match(login.text, /<label for="password">Password<\/label>/);
    t.match(login.text, />Sign in<\/button>/);
    const preflight = await get(`${s.auth}${location(start)}`, { origin: 'https://evil.example' });
    t.notOk(preflight.headers['access-control-allow-origin'], 'no CORS for another origin either');

    const wrong = await browser.post('/login', {
      request: hiddenField(login.text, 'request'),
      csrf: hiddenField(login.text, 'csrf'),
      username: user.username,
      password: 'wrong password',
    });
    t.equal(wrong.status, 401, 'a wrong password shows the form again');
    t.match(wrong.text, /Wrong username or password/);
    const forged = await browser.post('/login', {
      request: hiddenField(login.text, 'request'),
      csrf: 'forged',
      username: user.username,
      password: user.password,
    });
    t.equal(forged.status, 400, 'a POST without the CSRF token is refused');
    const otherBrowser = await new Browser().post('/login', {
      request: hiddenField(login.text, 'request'),
      csrf: hiddenField(login.text, 'csrf'),
      username: user.username,
      password: user.password,
    });
    t.equal(otherBrowser.status, 400, 'the request is bound to the browser that started it');

    const ok = await browser.post('/login', {
      request: hiddenField(login.text, 'request'),
      csrf: hiddenField(login.text, 'csrf'),
      username: user.username,
      password: user.password,
    });
    t.equal(ok.status, 303, '303 after the credential POST');
    const consent = await browser.get(location(ok));
    pageChecks(consent, 'consent');
    t.match(consent.text, />Allow<\/button>/);
    t.match(consent.text, />Deny<\/button>/);
    const answer = await browser.post('/consent', {
      request: hiddenField(consent.text, 'request'),
      csrf: hiddenField(consent.text, 'csrf'),
      decision: 'allow',
    });
    t.equal(answer.status, 303, '303 after the consent POST');
    const again = await browser.post('/consent', {
      request: hiddenField(consent.text, 'request'),
      csrf: hiddenField(consent.text, 'csrf'),
      decision: 'allow',
    });
    t.equal(again.status, 400, 'a request is answered once');
  },
);

t.test('A12 the consent page shows the client name, the redirect host and the scopes', async (t) => {
  const client = await newClient(t, {
    client_name: `TEST ${s.runId} <Photo & Print>`,
    redirect_uris: ['https://photos.example/back'],
  });
  const browser = new Browser();
  const user = await newUser(t);
  const start = await browser.get(authorizeUrl(client, { ...good, scope: 'profile organisations:read' }));
  const login = await browser.get(location(start));
  const ok = await browser.post('/login', {
    request: hiddenField(login.text, 'request'),
    csrf: hiddenField(login.text, 'csrf'),
    username: user.username,
    password: user.password,
  });
  const consent = await browser.get(location(ok));
  t.match(consent.text, `TEST ${s.runId} &#60;Photo &#38; Print&#62;`, 'the name, escaped');
  t.match(consent.text, '<strong id="redirect-host">photos.example</strong>');
  t.match(consent.text, '<code>profile</code>');
  t.match(consent.text, '<code>organisations:read</code>');
  const second = await browser.get(authorizeUrl(client, good));
  t.match(location(second), /^\/consent\?request=/, 'a signed-in person goes straight to consent');
});

t.test('2.1 §4.1.1: redirect_uri may be left out only by a client that registered exactly one', async (t) => {
  const one = await newClient(t);
  const res = await get(
    authorizeUrl(one, { ...good, redirect_uri: undefined }).replace(/&redirect_uri=[^&]*/, ''),
  );
  t.match(location(res), /^\/login\?request=/, 'one registered: it is used');
  const two = await newClient(t, { redirect_uris: [REDIRECT, 'http://127.0.0.1:8765/other'] });
  await errorPage(
    t,
    authorizeUrl(two, { ...good }).replace(/&redirect_uri=[^&]*/, ''),
    'two registered, none sent',
  );
});

t.test('A9 a client not registered for the authorization_code grant → unauthorized_client', async (t) => {
  const client = await newClient(t, { grant_types: ['refresh_token'] });
  await errorRedirect(t, client, good, 'unauthorized_client');
  await errorRedirect(t, client, { ...good, response_type: undefined }, 'invalid_request');
});
