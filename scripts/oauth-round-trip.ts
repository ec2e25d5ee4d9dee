import { createHash, randomBytes } from 'node:crypto';
import { request } from 'undici';

/**
 * One OAuth round trip on the reference stack as a person and a client make it: RFC 9728 and
 * RFC 8414 metadata, a test user (auth's admin API), RFC 7591 registration, /authorize with PKCE
 * through the login and consent forms, the code exchanged at /token, and the token presented to
 * the api. Every record is named "TEST <run>". The reference stack's own scripts use it:
 * diagnose-round-trip.ts (a realstack diagnose check) and perf-token.ts (perf.token).
 */
export interface RoundTripTarget {
  /** The protected service: its URL and the path that answers 200 to a valid token. */
  resourceUrl: string;
  probePath: string;
  adminToken: string;
  run: string;
  /** In the names of its records, after the run (auth finds a run's users as TEST_<run>_...). */
  purpose: string;
}

interface Answer {
  status: number;
  location: string;
  text: string;
  cookies: string[];
}

const REDIRECT = 'http://127.0.0.1:8765/callback';

async function send(
  method: 'GET' | 'POST',
  url: string,
  headers: Record<string, string>,
  body?: string,
): Promise<Answer> {
  const res = await request(url, { method, headers, body: body ?? null, headersTimeout: 15_000 });
  const set = res.headers['set-cookie'];
  return {
    status: res.statusCode,
    location: String(res.headers.location ?? ''),
    text: await res.body.text(),
    cookies: (Array.isArray(set) ? set : set ? [set] : []).map((c) => c.split(';')[0] as string),
  };
}

const form = (fields: Record<string, string>) => new URLSearchParams(fields).toString();
const hidden = (html: string, name: string) =>
  new RegExp(`name="${name}" value="([^"]*)"`).exec(html)?.[1] ?? '';

class StepError extends Error {}

function expect(step: string, answer: Answer, status: number): Answer {
  if (answer.status !== status)
    throw new StepError(`${step}: expected ${status}, got ${answer.status} ${answer.text.slice(0, 200)}`);
  return answer;
}

/** The steps it passed, and the first that failed with what it got; the token when all passed. */
export async function tokenRoundTrip(
  target: RoundTripTarget,
): Promise<{ passed: string[]; failed?: string; token?: string }> {
  const passed: string[] = [];
  const step = async <T>(name: string, fn: () => Promise<T>): Promise<T> => {
    const value = await fn();
    passed.push(name);
    return value;
  };
  try {
    const resource = await step('protected resource metadata (RFC 9728)', async () => {
      const a = expect(
        'metadata',
        await send('GET', `${target.resourceUrl}/.well-known/oauth-protected-resource`, {}),
        200,
      );
      return JSON.parse(a.text) as {
        resource: string;
        authorization_servers: string[];
        scopes_supported: string[];
      };
    });
    const issuer = resource.authorization_servers[0] as string;
    const server = await step('authorization server metadata (RFC 8414)', async () => {
      const a = expect(
        'metadata',
        await send('GET', `${issuer}/.well-known/oauth-authorization-server`, {}),
        200,
      );
      return JSON.parse(a.text) as Record<string, string>;
    });
    const user = {
      username: `TEST_${target.run}_${target.purpose}`,
      password: randomBytes(12).toString('base64url'),
    };
    await step('a test user (admin API)', async () =>
      expect(
        'admin user',
        await send(
          'POST',
          `${issuer}/admin/users`,
          { authorization: `Bearer ${target.adminToken}`, 'content-type': 'application/json' },
          JSON.stringify(user),
        ),
        201,
      ),
    );
    const client = await step('client registration (RFC 7591)', async () => {
      const body = {
        client_name: `TEST ${target.run} ${target.purpose}`,
        software_id: `TEST ${target.run}`,
        redirect_uris: [REDIRECT],
        token_endpoint_auth_method: 'none',
        grant_types: ['authorization_code'],
      };
      const a = await send(
        'POST',
        server.registration_endpoint as string,
        { 'content-type': 'application/json' },
        JSON.stringify(body),
      );
      return JSON.parse(expect('registration', a, 201).text) as { client_id: string };
    });
    const verifier = randomBytes(32).toString('base64url');
    const jar = new Map<string, string>();
    const browse = async (method: 'GET' | 'POST', url: string, fields?: Record<string, string>) => {
      const headers: Record<string, string> = {};
      if (jar.size) headers.cookie = [...jar].map(([k, v]) => `${k}=${v}`).join('; ');
      if (fields) headers['content-type'] = 'application/x-www-form-urlencoded';
      const a = await send(method, new URL(url, issuer).href, headers, fields && form(fields));
      for (const c of a.cookies) jar.set(c.slice(0, c.indexOf('=')), c.slice(c.indexOf('=') + 1));
      return a;
    };
    const code = await step('authorization with PKCE, login and consent', async () => {
      const query = form({
        response_type: 'code',
        client_id: client.client_id,
        redirect_uri: REDIRECT,
        code_challenge: createHash('sha256').update(verifier).digest('base64url'),
        code_challenge_method: 'S256',
        scope: resource.scopes_supported.join(' '),
        resource: resource.resource,
        state: 'diagnose',
      });
      // A page's form: fetched where the last answer pointed, posted back with its hidden fields.
      const fillIn = async (page: string, action: string, after: Answer, fields: Record<string, string>) => {
        const html = expect(`${page} page`, await browse('GET', after.location), 200).text;
        const posted = await browse('POST', action, {
          request: hidden(html, 'request'),
          csrf: hidden(html, 'csrf'),
          ...fields,
        });
        return expect(page, posted, 303);
      };
      let a = expect('/authorize', await browse('GET', `${server.authorization_endpoint}?${query}`), 303);
      a = await fillIn('login', '/login', a, user);
      a = await fillIn('consent', '/consent', a, { decision: 'allow' });
      const back = new URL(a.location);
      const value = back.searchParams.get('code');
      if (!value) throw new StepError(`consent: no code in ${a.location}`);
      return value;
    });
    const token = await step('code exchanged at /token', async () => {
      const a = await send(
        'POST',
        server.token_endpoint as string,
        { 'content-type': 'application/x-www-form-urlencoded' },
        form({
          grant_type: 'authorization_code',
          code,
          code_verifier: verifier,
          redirect_uri: REDIRECT,
          client_id: client.client_id,
        }),
      );
      return (JSON.parse(expect('/token', a, 200).text) as { access_token: string }).access_token;
    });
    await step(`the token accepted by ${target.resourceUrl}${target.probePath}`, async () =>
      expect(
        'resource',
        await send('GET', `${target.resourceUrl}${target.probePath}`, { authorization: `Bearer ${token}` }),
        200,
      ),
    );
    return { passed, token };
  } catch (err) {
    const message = err instanceof StepError ? err.message : `${(err as Error).message}`;
    return { passed, failed: message };
  }
}

/** Whatever a round trip created goes again, passed or not: the api's first, then auth's. */
export async function removeRecords(
  auth: string,
  api: string,
  adminToken: string,
  run: string,
): Promise<void> {
  const headers = { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' };
  const listed = await send(
    'POST',
    `${auth}/admin/test-data/list`,
    headers,
    JSON.stringify({ run, subjects: [] }),
  );
  const subjects = (JSON.parse(listed.text) as { subjects?: string[] }).subjects ?? [];
  for (const base of [api, auth])
    await send('POST', `${base}/admin/test-data/delete`, headers, JSON.stringify({ run, subjects }));
}
