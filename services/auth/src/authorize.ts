import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type pg from 'pg';
import type { Client } from './client-auth.js';
import { readCookie, setCookie } from './cookies.js';
import { grantWithCode } from './grants.js';
import { consentPage, errorPage, loginPage } from './pages.js';
import { formBody, type Params, parseParams, queryOf, singleValued } from './params.js';
import type { Passwords } from './passwords.js';
import type { FailureLimiter } from './rate-limit.js';
import { chooseRedirect, redirectWith } from './redirect-uri.js';
import { hashSecret, newSecret, secretMatches } from './tokens.js';

export interface AuthorizeOptions {
  issuer: string;
  /** Resource indicators (RFC 8707) tokens may be issued for; the first is the default. */
  resources: string[];
  scopes: string[];
  limiter: FailureLimiter;
  passwords: Passwords;
}

const REQUEST_SECONDS = 600;
const SESSION_SECONDS = 8 * 3600;
const BROWSER_COOKIE = 'rs_browser';
const SESSION_COOKIE = 'rs_session';
// RFC 7636 §4.1: the verifier's alphabet and length; an S256 challenge is 43 of those characters.
const CHALLENGE = /^[A-Za-z0-9._~-]{43,128}$/;

interface Flow {
  id: string;
  browser: string;
  client: Client;
  redirect_uri: string;
  scope: string;
  state: string | null;
  code_challenge: string;
  resource: string;
}

class AuthorizeError extends Error {
  constructor(
    readonly error: string,
    message: string,
  ) {
    super(message);
  }
}

/**
 * The authorization endpoint (OAuth 2.1 §4.1) and the pages a person goes through: sign in,
 * then allow or deny. A request is stored under a random id and bound to the browser that
 * started it (a cookie), and every form carries a token derived from both (CSRF).
 */
export function authorize(app: FastifyInstance, pool: pg.Pool, options: AuthorizeOptions): void {
  const secure = options.issuer.startsWith('https:');

  const scopeFor = (requested: string | undefined, client: Client): string => {
    const allowed = client.metadata.scope?.split(' ') ?? options.scopes;
    const scope = requested ?? client.metadata.scope;
    if (!scope)
      throw new AuthorizeError('invalid_scope', 'scope is required: this client registered no default');
    const unknown = scope.split(' ').filter((s) => !options.scopes.includes(s) || !allowed.includes(s));
    if (unknown.length > 0)
      throw new AuthorizeError('invalid_scope', `scope not allowed for this client: ${unknown.join(' ')}`);
    return scope;
  };

  const resourceFor = (requested: string | undefined): string => {
    if (requested === undefined) return options.resources[0] as string;
    if (!URL.canParse(requested) || requested.includes('#') || !options.resources.includes(requested)) {
      throw new AuthorizeError(
        'invalid_target',
        `resource "${requested}" is not a resource this server issues tokens for`,
      );
    }
    return requested;
  };

  const loadClient = async (clientId: string): Promise<Client | undefined> =>
    (
      await pool.query<Client>('SELECT client_id, metadata FROM auth.clients WHERE client_id = $1', [
        clientId,
      ])
    ).rows[0];

  app.get('/authorize', async (request, reply) => {
    const p = parseParams(queryOf(request.url));
    // Until the client and its redirect URI are known good, errors stay here (2.1 §4.1.2.1).
    const untrusted = ['client_id', 'redirect_uri'].filter((n) => p.duplicated.includes(n));
    if (untrusted.length > 0) return errorPage(reply, 400, `${untrusted.join(' and ')} must be sent once.`);
    const clientId = p.get('client_id');
    if (!clientId) return errorPage(reply, 400, 'The request names no client (client_id is missing).');
    const client = await loadClient(clientId);
    if (!client) return errorPage(reply, 400, 'The client of this request is not registered here.');
    const redirect = chooseRedirect(client.metadata.redirect_uris, p.get('redirect_uri'));
    if ('error' in redirect) return errorPage(reply, 400, `The request's ${redirect.error}.`);

    const state = p.get('state');
    try {
      const flow = validate(p, client, redirect.uri);
      const id = newSecret();
      const browser = readCookie(request.headers.cookie, BROWSER_COOKIE) ?? newSecret();
      await pool.query(
        `INSERT INTO auth.authorization_requests
           (id_hash, browser_hash, client_id, redirect_uri, scope, state, code_challenge, resource, expires_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, now() + make_interval(secs => $9))`,
        [
          hashSecret(id),
          hashSecret(browser),
          client.client_id,
          redirect.uri,
          flow.scope,
          state ?? null,
          flow.code_challenge,
          flow.resource,
          REQUEST_SECONDS,
        ],
      );
      reply.header('set-cookie', setCookie(BROWSER_COOKIE, browser, { secure }));
      const next = (await sessionUser(request)) ? 'consent' : 'login';
      return reply.redirect(`/${next}?request=${id}`, 303);
    } catch (err) {
      if (!(err instanceof AuthorizeError)) throw err;
      return reply.redirect(
        redirectWith(redirect.uri, {
          error: err.error,
          error_description: err.message,
          state,
          iss: options.issuer,
        }),
        303,
      );
    }
  });

  function validate(p: Params, client: Client, redirectUri: string) {
    if (p.duplicated.length > 0)
      throw new AuthorizeError('invalid_request', `${p.duplicated.join(', ')} sent more than once`);
    const responseType = p.get('response_type');
    if (responseType === undefined) throw new AuthorizeError('invalid_request', 'response_type is required');
    if (responseType !== 'code')
      throw new AuthorizeError('unsupported_response_type', 'only response_type=code is supported');
    if (!client.metadata.grant_types.includes('authorization_code')) {
      throw new AuthorizeError(
        'unauthorized_client',
        'this client is not registered for the authorization_code grant',
      );
    }
    const challenge = p.get('code_challenge');
    if (challenge === undefined)
      throw new AuthorizeError('invalid_request', 'code_challenge is required (PKCE with S256)');
    if (p.get('code_challenge_method') !== 'S256')
      throw new AuthorizeError('invalid_request', 'code_challenge_method must be S256');
    if (!CHALLENGE.test(challenge)) {
      throw new AuthorizeError(
        'invalid_request',
        'code_challenge must be 43 to 128 characters of A-Z a-z 0-9 - . _ ~',
      );
    }
    return {
      scope: scopeFor(p.get('scope'), client),
      resource: resourceFor(p.get('resource')),
      code_challenge: challenge,
      redirect_uri: redirectUri,
    };
  }

  async function sessionUser(request: FastifyRequest): Promise<{ id: string; username: string } | undefined> {
    const session = readCookie(request.headers.cookie, SESSION_COOKIE);
    if (!session) return undefined;
    const res = await pool.query<{ id: string; username: string }>(
      `SELECT u.id, u.username FROM auth.sessions s JOIN auth.users u ON u.id = s.user_id
       WHERE s.id_hash = $1 AND s.expires_at > now()`,
      [hashSecret(session)],
    );
    return res.rows[0];
  }

  const csrfFor = (flow: Flow) => hashSecret(`csrf:${flow.browser}:${flow.id}`);

  /** The stored request named by `id`, if this browser started it and it has not expired. */
  async function loadFlow(request: FastifyRequest, id: string | undefined): Promise<Flow | undefined> {
    const browser = readCookie(request.headers.cookie, BROWSER_COOKIE);
    if (!id || !browser) return undefined;
    const res = await pool.query<
      Omit<Flow, 'id' | 'browser' | 'client'> & { client_id: string; metadata: Client['metadata'] }
    >(
      `SELECT r.client_id, c.metadata, r.redirect_uri, r.scope, r.state, r.code_challenge, r.resource
       FROM auth.authorization_requests r JOIN auth.clients c USING (client_id)
       WHERE r.id_hash = $1 AND r.browser_hash = $2 AND r.expires_at > now()`,
      [hashSecret(id), hashSecret(browser)],
    );
    const row = res.rows[0];
    if (!row) return undefined;
    const { client_id, metadata, ...rest } = row;
    return { id, browser, client: { client_id, metadata }, ...rest };
  }

  const lost = (reply: FastifyReply) =>
    errorPage(
      reply,
      400,
      'This sign-in request has expired, was completed, or was started in another browser.',
    );

  /** The flow of a form POST, once its CSRF token checks out. */
  async function postedFlow(request: FastifyRequest, form: Params): Promise<Flow | undefined> {
    const flow = await loadFlow(request, form.get('request'));
    return flow && secretMatches(form.get('csrf') ?? '', hashSecret(csrfFor(flow))) ? flow : undefined;
  }

  const clientName = (flow: Flow) => flow.client.metadata.client_name ?? flow.client.client_id;

  app.get('/login', async (request, reply) => {
    const id = parseParams(queryOf(request.url)).get('request');
    const flow = await loadFlow(request, id);
    if (!flow) return lost(reply);
    return loginPage(reply, { request: flow.id, csrf: csrfFor(flow), clientName: clientName(flow) });
  });

  app.post('/login', async (request, reply) => {
    const form = singleValued(parseParams(formBody(request) ?? ''), reply);
    if (!form) return reply;
    const flow = await postedFlow(request, form);
    if (!flow) return lost(reply);
    const username = form.get('username') ?? '';
    const page = { request: flow.id, csrf: csrfFor(flow), clientName: clientName(flow) };
    const wait = options.limiter.retryAfter(`user:${username}`);
    if (wait > 0) {
      reply.header('retry-after', String(wait));
      return loginPage(reply, {
        ...page,
        status: 429,
        error: `Too many failed sign-ins. Try again in ${wait} seconds.`,
      });
    }
    const user = (
      await pool.query<{ id: string; password_hash: string }>(
        'SELECT id, password_hash FROM auth.users WHERE username = $1',
        [username],
      )
    ).rows[0];
    if (!(await options.passwords.verify(form.get('password') ?? '', user?.password_hash)) || !user) {
      options.limiter.fail(`user:${username}`);
      return loginPage(reply, { ...page, status: 401, error: 'Wrong username or password.' });
    }
    options.limiter.succeed(`user:${username}`);
    const session = newSecret();
    await pool.query(
      'INSERT INTO auth.sessions (id_hash, user_id, expires_at) VALUES ($1, $2, now() + make_interval(secs => $3))',
      [hashSecret(session), user.id, SESSION_SECONDS],
    );
    reply.header(
      'set-cookie',
      setCookie(SESSION_COOKIE, session, { secure, maxAgeSeconds: SESSION_SECONDS }),
    );
    return reply.redirect(`/consent?request=${flow.id}`, 303);
  });

  app.get('/consent', async (request, reply) => {
    const flow = await loadFlow(request, parseParams(queryOf(request.url)).get('request'));
    if (!flow) return lost(reply);
    const user = await sessionUser(request);
    if (!user) return reply.redirect(`/login?request=${flow.id}`, 303);
    return consentPage(reply, {
      request: flow.id,
      csrf: csrfFor(flow),
      clientName: clientName(flow),
      redirectHost: new URL(flow.redirect_uri).host,
      scopes: flow.scope.split(' '),
      username: user.username,
    });
  });

  app.post('/consent', async (request, reply) => {
    const form = singleValued(parseParams(formBody(request) ?? ''), reply);
    if (!form) return reply;
    const flow = await postedFlow(request, form);
    if (!flow) return lost(reply);
    const user = await sessionUser(request);
    if (!user) return reply.redirect(`/login?request=${flow.id}`, 303);
    // A request is answered once: a second POST finds nothing.
    const claimed = await pool.query('DELETE FROM auth.authorization_requests WHERE id_hash = $1', [
      hashSecret(flow.id),
    ]);
    if (claimed.rowCount === 0) return lost(reply);
    const answer = { state: flow.state ?? undefined, iss: options.issuer };
    if (form.get('decision') !== 'allow') {
      return reply.redirect(
        redirectWith(flow.redirect_uri, {
          error: 'access_denied',
          error_description: 'the user denied the request',
          ...answer,
        }),
        303,
      );
    }
    const code = await grantWithCode(pool, {
      client_id: flow.client.client_id,
      user_id: user.id,
      scope: flow.scope,
      resource: flow.resource,
      redirect_uri: flow.redirect_uri,
      code_challenge: flow.code_challenge,
    });
    return reply.redirect(redirectWith(flow.redirect_uri, { code, ...answer }), 303);
  });
}
