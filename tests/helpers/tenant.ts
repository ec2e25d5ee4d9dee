/**
 * A person using the api: a user of the auth service with a token for every api scope, and
 * JSON calls with that token. Organisations made through `createOrganisation` are named
 * "TEST <run id> ..." and deleted by their owner when the test ends.
 */
import type { Test } from 'tap';
import { request } from 'undici';
import { type Response, tokensFor, type User } from './oauth.js';
import { stack } from './stack.js';

const s = stack();
export const ALL_SCOPES = 'profile organisations:read organisations:write';

export interface Tenant {
  sub: string;
  user: User;
  token: string;
  call(method: string, path: string, body?: unknown): Promise<Response>;
}

export async function callAs(token: string | undefined, method: string, path: string, body?: unknown) {
  const res = await request(`${s.api}${path}`, {
    method: method as 'GET',
    headers: {
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
    },
    body: body === undefined ? null : typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.body.text();
  let json: Record<string, unknown> = {};
  try {
    json = text ? (JSON.parse(text) as Record<string, unknown>) : {};
  } catch {}
  return { status: res.statusCode, headers: res.headers, text, json } satisfies Response;
}

/** A new person with a token for every api scope (or `scope`), through the real OAuth flow. */
export async function newTenant(t: Test, scope = ALL_SCOPES, existing?: User): Promise<Tenant> {
  const { tokens, user } = await tokensFor(t, { scope }, {}, existing);
  const token = tokens.access_token;
  const sub = JSON.parse(Buffer.from(token.split('.')[1] as string, 'base64url').toString()).sub as string;
  return { sub, user, token, call: (method, path, body) => callAs(token, method, path, body) };
}

export async function createOrganisation(t: Test, owner: Tenant, name: string, description?: string | null) {
  const res = await owner.call('POST', '/v1/organisations', {
    name: `TEST ${s.tag} ${name}`,
    ...(description !== undefined ? { description } : {}),
  });
  if (res.status !== 201) throw new Error(`creating an organisation failed: ${res.text}`);
  const id = res.json.id as string;
  t.teardown(async () => {
    // Members who are only here must go first: nobody is left without an organisation.
    for (;;) {
      const page = await owner.call('GET', `/v1/organisations/${id}/members?limit=100`);
      const others = ((page.json.items as { user: string; role: string }[] | undefined) ?? []).filter(
        (m) => m.user !== owner.sub,
      );
      if (others.length === 0) break;
      await Promise.all(
        others.map((m) =>
          owner.call('DELETE', `/v1/organisations/${id}/members/${encodeURIComponent(m.user)}`),
        ),
      );
    }
    await owner.call('DELETE', `/v1/organisations/${id}`);
  });
  return res.json as { id: string; name: string; [k: string]: unknown };
}
