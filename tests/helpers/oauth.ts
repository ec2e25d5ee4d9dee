/**
 * A client and a person for OAuth tests, over real HTTP: users created through the admin API,
 * clients through registration, a browser as a cookie jar that follows no redirects by itself
 * (the tests look at each one), PKCE computed here. Everything is named "TEST <run id> ..." and
 * deleted when the test that made it ends.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { Test } from 'tap';
import { request } from 'undici';
import { stack } from './stack.js';

const s = stack();
export const API_RESOURCE = 'https://api.realstack.test';
export const OTHER_RESOURCE = 'https://reports.realstack.test';
export const REDIRECT = 'http://127.0.0.1:8765/callback';

export interface Response {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  json: Record<string, unknown>;
}

async function send(
  method: string,
  url: string,
  options: { headers?: Record<string, string>; body?: string } = {},
): Promise<Response> {
  const res = await request(url, { method, headers: options.headers ?? {}, body: options.body ?? null });
  const text = await res.body.text();
  let json: Record<string, unknown> = {};
  try {
    json = text ? (JSON.parse(text) as Record<string, unknown>) : {};
  } catch {}
  return { status: res.statusCode, headers: res.headers, text, json };
}

/**
 * A JSON request to any service, the body sent as JSON when given; the answer's JSON loosely
 * typed, for tests that read deep into bodies of many shapes and assert on each part.
 */
export async function sendJson(
  method: string,
  url: string,
  body?: unknown,
  headers: Record<string, string> = {},
) {
  const res = await send(method, url, {
    headers: { ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...headers },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  // biome-ignore lint/suspicious/noExplicitAny: JSON of many shapes, each checked by the assertions
  return { status: res.status, json: res.json as Record<string, any> };
}

export const form = (fields: Record<string, string | undefined>) =>
  Object.entries(fields)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v as string)}`)
    .join('&');

/** POST a form to the auth service (token, revoke, introspect). */
export const post = (
  path: string,
  fields: Record<string, string | undefined> | string,
  headers: Record<string, string> = {},
) =>
  send('POST', `${s.auth}${path}`, {
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    body: typeof fields === 'string' ? fields : form(fields),
  });

export const get = (url: string, headers: Record<string, string> = {}) => send('GET', url, { headers });

export const basic = (id: string, secret: string) => ({
  authorization: `Basic ${Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString('base64')}`,
});

/** The api resource server's introspection credential, as realstack generated it into .env. */
export const resourceAuth = (resource = API_RESOURCE) =>
  basic(resource, process.env.REALSTACK_RESOURCE_SECRET as string);

export function pkce() {
  const verifier = randomBytes(32).toString('base64url');
  return { verifier, challenge: createHash('sha256').update(verifier).digest('base64url') };
}

export interface User {
  username: string;
  password: string;
  /** The auth service's id of the user: the `sub` of their tokens. */
  id: string;
}

const adminHeaders = {
  authorization: `Bearer ${process.env.REALSTACK_ADMIN_TOKEN}`,
  'content-type': 'application/json',
};

export async function newUser(t: Test, name = 'user'): Promise<User> {
  const user = {
    username: `TEST_${s.tag.replace(' ', '_')}_${name}_${randomBytes(4).toString('hex')}`,
    password: randomBytes(12).toString('base64url'),
  };
  const res = await send('POST', `${s.auth}/admin/users`, {
    headers: adminHeaders,
    body: JSON.stringify(user),
  });
  if (res.status !== 201) throw new Error(`creating a user failed: ${res.text}`);
  t.teardown(() =>
    send('DELETE', `${s.auth}/admin/users/${encodeURIComponent(user.username)}`, {
      headers: { authorization: adminHeaders.authorization },
    }),
  );
  return { ...user, id: res.json.id as string };
}

/**
 * `count` users of the auth service who never sign in (members to be), made four at a time: each
 * costs the auth service a password hash, and a crowd of them at once starves its other requests.
 */
export async function newUsers(t: Test, count: number, name = 'user'): Promise<User[]> {
  const users: User[] = [];
  for (let i = 0; i < count; i += 4)
    users.push(
      ...(await Promise.all(
        Array.from({ length: Math.min(4, count - i) }, (_, j) => newUser(t, `${name}${i + j}`)),
      )),
    );
  return users;
}

export interface Client {
  client_id: string;
  client_secret?: string;
  registration_access_token: string;
  registration_client_uri: string;
  redirect_uris: string[];
}

/** A registered client (public unless told otherwise), deleted in teardown. */
export async function newClient(t: Test, metadata: Record<string, unknown> = {}): Promise<Client> {
  const res = await send('POST', `${s.auth}/register`, {
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      client_name: `TEST ${s.tag} ${t.name}`.slice(0, 200),
      // Stays with the client whatever its name becomes: how cleanup finds a renamed one.
      software_id: `TEST ${s.runId}`,
      redirect_uris: [REDIRECT],
      token_endpoint_auth_method: 'none',
      grant_types: ['authorization_code', 'refresh_token'],
      ...metadata,
    }),
  });
  if (res.status !== 201) throw new Error(`registration failed: ${res.text}`);
  const client = res.json as unknown as Client;
  t.teardown(() =>
    send('DELETE', client.registration_client_uri, {
      headers: { authorization: `Bearer ${client.registration_access_token}` },
    }),
  );
  return client;
}

/** A person's browser: a cookie jar; redirects are returned, not followed. */
export class Browser {
  private readonly cookies = new Map<string, string>();

  private remember(res: Response): Response {
    const set = res.headers['set-cookie'];
    for (const c of Array.isArray(set) ? set : set ? [set] : []) {
      const [pair] = c.split(';');
      const eq = (pair as string).indexOf('=');
      this.cookies.set((pair as string).slice(0, eq), (pair as string).slice(eq + 1));
    }
    return res;
  }

  private get cookieHeader(): Record<string, string> {
    return this.cookies.size ? { cookie: [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ') } : {};
  }

  async get(url: string): Promise<Response> {
    return this.remember(await send('GET', new URL(url, s.auth).href, { headers: this.cookieHeader }));
  }

  async post(url: string, fields: Record<string, string | undefined>): Promise<Response> {
    return this.remember(
      await send('POST', new URL(url, s.auth).href, {
        headers: { ...this.cookieHeader, 'content-type': 'application/x-www-form-urlencoded' },
        body: form(fields),
      }),
    );
  }
}

/** The value of a hidden input of an HTML form. */
export const hiddenField = (html: string, name: string): string =>
  new RegExp(`name="${name}" value="([^"]*)"`).exec(html)?.[1] ?? '';

export const location = (res: Response): string => String(res.headers.location ?? '');

export function authorizeUrl(client: Client, params: Record<string, string | undefined>): string {
  return `${s.auth}/authorize?${form({ response_type: 'code', client_id: client.client_id, redirect_uri: client.redirect_uris[0], ...params })}`;
}

/**
 * Goes through /authorize, the login form and the consent form as a person would, and returns
 * where the browser is sent at the end (the client's redirect URI with a code, or an error).
 */
export async function authorizeAs(
  browser: Browser,
  url: string,
  user: User,
  decision: 'allow' | 'deny' = 'allow',
): Promise<URL> {
  let res = await browser.get(url);
  if (res.status !== 303) throw new Error(`/authorize answered ${res.status}: ${res.text}`);
  if (location(res).startsWith('/login')) {
    const page = await browser.get(location(res));
    res = await browser.post('/login', {
      request: hiddenField(page.text, 'request'),
      csrf: hiddenField(page.text, 'csrf'),
      username: user.username,
      password: user.password,
    });
    if (res.status !== 303) throw new Error(`login answered ${res.status}: ${res.text}`);
  }
  const consent = await browser.get(location(res));
  res = await browser.post('/consent', {
    request: hiddenField(consent.text, 'request'),
    csrf: hiddenField(consent.text, 'csrf'),
    decision,
  });
  if (res.status !== 303) throw new Error(`consent answered ${res.status}: ${res.text}`);
  return new URL(location(res));
}

/** A code for `client` and a new user, through the whole browser flow. */
export async function codeFor(
  t: Test,
  client: Client,
  params: Record<string, string | undefined> = {},
  existing?: User,
) {
  const user = existing ?? (await newUser(t));
  const { verifier, challenge } = pkce();
  const back = await authorizeAs(
    new Browser(),
    authorizeUrl(client, {
      code_challenge: challenge,
      code_challenge_method: 'S256',
      scope: 'profile organisations:read',
      state: 'xyz',
      ...params,
    }),
    user,
  );
  const code = back.searchParams.get('code');
  if (!code) throw new Error(`no code: ${back.href}`);
  return { code, verifier, user, redirect: `${back.origin}${back.pathname}` };
}

/** Redeems a code for a public client. */
export const redeem = (
  client: Client,
  code: string,
  verifier: string | undefined,
  extra: Record<string, string> = {},
) =>
  post('/token', {
    grant_type: 'authorization_code',
    code,
    code_verifier: verifier,
    redirect_uri: client.redirect_uris[0],
    client_id: client.client_id,
    ...extra,
  });

/** Tokens for a new public client and user: the whole flow, end to end. */
export async function tokensFor(
  t: Test,
  params: Record<string, string | undefined> = {},
  metadata: Record<string, unknown> = {},
  existing?: User,
) {
  const client = await newClient(t, metadata);
  const { code, verifier, user } = await codeFor(t, client, params, existing);
  const res = await redeem(client, code, verifier);
  if (res.status !== 200) throw new Error(`token request failed: ${res.text}`);
  return {
    client,
    user,
    code,
    verifier,
    tokens: res.json as { access_token: string; refresh_token: string; scope: string },
  };
}

export const refresh = (client: Client, token: string, extra: Record<string, string> = {}) =>
  post('/token', {
    grant_type: 'refresh_token',
    refresh_token: token,
    client_id: client.client_id,
    ...extra,
  });

/** The api's answer to a call with this access token. */
export const callApi = (token: string | undefined, path = '/v1/me', scheme = 'Bearer') =>
  get(`${s.api}${path}`, token ? { authorization: `${scheme} ${token}` } : {});

export const introspect = (token: string, resource = API_RESOURCE) =>
  post('/introspect', { token }, resourceAuth(resource));
