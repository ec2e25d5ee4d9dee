// What an attacker or a broken client sends the auth service (oauth-checklist.md X2, X3 and the
// cross-cutting line): secrets with enough entropy, guessing slowed per client and per user,
// and bad input answered with a JSON error, the right status, never a 500 or a stack trace.
import t from 'tap';
import { request } from 'undici';
import {
  authorizeUrl,
  Browser,
  basic,
  hiddenField,
  introspect,
  location,
  newClient,
  newUser,
  pkce,
  post,
  tokensFor,
} from './helpers/oauth.js';
import { stack } from './helpers/stack.js';

const s = stack();

/** Bits of entropy a base64url string of this length can carry at most, and that ours do carry. */
const bits = (value: string) => value.length * 6;

t.test('X2 codes, tokens, secrets and registration tokens carry at least 128 bits of entropy', async (t) => {
  const secretive = await newClient(t, { token_endpoint_auth_method: 'client_secret_basic' });
  const { tokens, code } = await tokensFor(t);
  const jti = JSON.parse(
    Buffer.from(tokens.access_token.split('.')[1] as string, 'base64url').toString(),
  ).jti;
  for (const [name, value] of [
    ['client_id', secretive.client_id],
    ['client_secret', secretive.client_secret as string],
    ['registration_access_token', secretive.registration_access_token],
    ['code', code],
    ['refresh_token', tokens.refresh_token],
    ['access token jti', jti],
  ] as const) {
    t.match(value, /^[\w-]+$/, `${name} is base64url`);
    t.ok(bits(value) >= 128, `${name}: ${bits(value)} bits`);
  }
  const many = new Set(
    await Promise.all(Array.from({ length: 20 }, async () => (await newClient(t)).client_id)),
  );
  t.equal(many.size, 20, 'no two alike');
});

t.test(
  'X3 repeated bad secrets for one client → 429 with Retry-After; other clients are unaffected',
  async (t) => {
    const victim = await newClient(t, { token_endpoint_auth_method: 'client_secret_basic' });
    const bystander = await newClient(t, { token_endpoint_auth_method: 'client_secret_basic' });
    const attempt = (id: string, secret: string) =>
      post('/token', { grant_type: 'refresh_token', refresh_token: 'x' }, basic(id, secret));
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) statuses.push((await attempt(victim.client_id, `guess-${i}`)).status);
    t.same(statuses, [401, 401, 401, 401, 401, 429], 'five wrong guesses, then 429');
    const limited = await attempt(victim.client_id, victim.client_secret as string);
    t.equal(limited.status, 429, 'even the right secret waits');
    t.match(limited.headers['retry-after'], /^\d+$/);
    t.ok(Number(limited.headers['retry-after']) > 0 && Number(limited.headers['retry-after']) <= 60);
    t.equal(limited.json.error, 'invalid_client');
    const other = await attempt(bystander.client_id, bystander.client_secret as string);
    t.equal(other.status, 400, 'another client is heard (its refresh token is wrong, its secret is right)');
    t.equal(other.json.error, 'invalid_grant');
  },
);

t.test('X3 repeated wrong passwords for one user → 429 with Retry-After; other users sign in', async (t) => {
  const client = await newClient(t);
  const victim = await newUser(t, 'victim');
  const other = await newUser(t, 'other');
  const browser = new Browser();
  const start = await browser.get(
    authorizeUrl(client, {
      code_challenge: pkce().challenge,
      code_challenge_method: 'S256',
      scope: 'profile',
    }),
  );
  const login = await browser.get(location(start));
  const fields = { request: hiddenField(login.text, 'request'), csrf: hiddenField(login.text, 'csrf') };
  const statuses: number[] = [];
  for (let i = 0; i < 6; i++) {
    statuses.push(
      (await browser.post('/login', { ...fields, username: victim.username, password: `guess-${i}` })).status,
    );
  }
  t.same(statuses, [401, 401, 401, 401, 401, 429]);
  const limited = await browser.post('/login', { ...fields, ...victim });
  t.equal(limited.status, 429, 'even the right password waits');
  t.match(limited.headers['retry-after'], /^\d+$/);
  t.match(limited.text, /Too many failed sign-ins/);
  const ok = await browser.post('/login', { ...fields, ...other });
  t.equal(ok.status, 303, 'another user signs in');
});

t.test('X3 repeated bad introspection credentials → 429 for that caller only', async (t) => {
  const { tokens } = await tokensFor(t);
  // A made-up resource: the api's own credential must stay usable for the tests beside this one.
  const caller = `https://guesser-${s.runId}.example`;
  const statuses: number[] = [];
  for (let i = 0; i < 6; i++) {
    statuses.push(
      (await post('/introspect', { token: tokens.access_token }, basic(caller, `guess-${i}`))).status,
    );
  }
  t.same(statuses, [401, 401, 401, 401, 401, 429]);
  const limited = await post('/introspect', { token: tokens.access_token }, basic(caller, 'again'));
  t.match(limited.headers['retry-after'], /^\d+$/);
  t.equal((await introspect(tokens.access_token)).json.active, true, 'the api is still heard');
});

t.test(
  'bad input: malformed bodies, wrong types, huge and duplicated parameters → a JSON error, never a 500',
  async (t) => {
    const client = await newClient(t);
    const cases: [string, string, Record<string, string>, string, number][] = [
      [
        '/token',
        'grant_type=%E0%A4%A',
        { 'content-type': 'application/x-www-form-urlencoded' },
        'broken percent-encoding',
        400,
      ],
      [
        '/token',
        `grant_type=refresh_token&client_id=${client.client_id}&refresh_token=${'r'.repeat(60_000)}`,
        { 'content-type': 'application/x-www-form-urlencoded' },
        'a huge parameter',
        400,
      ],
      [
        '/token',
        'x'.repeat(100 * 1024),
        { 'content-type': 'application/x-www-form-urlencoded' },
        'a body over the limit',
        413,
      ],
      ['/token', '{"grant_type":', { 'content-type': 'application/json' }, 'truncated JSON', 400],
      ['/token', '<xml/>', { 'content-type': 'application/xml' }, 'XML', 400],
      [
        '/token',
        'grant_type=authorization_code&grant_type=refresh_token',
        { 'content-type': 'application/x-www-form-urlencoded' },
        'grant_type twice',
        400,
      ],
      [
        '/register',
        '{"redirect_uris": [',
        { 'content-type': 'application/json' },
        'truncated JSON registration',
        400,
      ],
      ['/register', '[]', { 'content-type': 'application/json' }, 'a JSON array', 400],
      [
        '/register',
        JSON.stringify({ redirect_uris: ['https://a.example/cb'], client_name: 'n'.repeat(100_000) }),
        { 'content-type': 'application/json' },
        'a huge client_name',
        400,
      ],
      [
        '/introspect',
        'token=x',
        { 'content-type': 'application/x-www-form-urlencoded', authorization: 'Basic %%%' },
        'a malformed Basic header',
        401,
      ],
      [
        '/revoke',
        'token=x',
        {
          'content-type': 'application/x-www-form-urlencoded',
          authorization: `Basic ${Buffer.from('no-colon').toString('base64')}`,
        },
        'Basic without a colon',
        401,
      ],
      [
        '/login',
        'request=x&csrf=y',
        { 'content-type': 'application/x-www-form-urlencoded' },
        'a login POST without a flow',
        400,
      ],
    ];
    for (const [path, body, headers, what, status] of cases) {
      const res = await request(`${s.auth}${path}`, { method: 'POST', headers, body });
      const text = await res.body.text();
      t.equal(res.statusCode, status, `${what}: ${status}`);
      t.notMatch(text, /\bat .+:\d+:\d+\)?/, `${what}: no stack trace`);
      if (path !== '/login') {
        const json = JSON.parse(text) as Record<string, unknown>;
        t.type(json.error, 'string', `${what}: error`);
        t.type(json.error_description, 'string', `${what}: error_description`);
      }
    }
    const longQuery = await request(`${s.auth}/authorize?client_id=${'c'.repeat(10_000)}`);
    t.equal(longQuery.statusCode, 400, 'a 10 kB client_id: the error page');
    await longQuery.body.dump();
    const hugeQuery = await request(`${s.auth}/authorize?client_id=${'c'.repeat(20_000)}`);
    t.equal(hugeQuery.statusCode, 431, 'a request line over 16 kB: Node refuses it before any route (431)');
    await hugeQuery.body.dump();
  },
);
