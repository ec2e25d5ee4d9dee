import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type pg from 'pg';
import { bearerToken, jsonError } from '../../kit/src/index.js';
import {
  type ClientMetadata,
  type MetadataError,
  parseClientMetadata,
  READ_ONLY_FIELDS,
} from './client-metadata.js';
import { hashSecret, newSecret, secretMatches } from './tokens.js';

interface ClientRow {
  client_id: string;
  metadata: ClientMetadata;
  registration_token_hash: string;
  issued_at: string;
}

const invalidToken = (reply: FastifyReply, description: string) =>
  jsonError(
    reply.header('www-authenticate', 'Bearer error="invalid_token"'),
    401,
    'invalid_token',
    description,
  );

/**
 * RFC 7591 dynamic registration and RFC 7592 management. Secrets and registration tokens are
 * returned once and stored only as hashes; the client_id is always the server's.
 */
export function registration(app: FastifyInstance, pool: pg.Pool, issuer: string): void {
  const clientUri = (id: string) => `${issuer}/register/${encodeURIComponent(id)}`;
  const view = (row: ClientRow) => ({
    client_id: row.client_id,
    client_id_issued_at: Number(row.issued_at),
    registration_client_uri: clientUri(row.client_id),
    ...row.metadata,
  });

  /** The client named in the path, if the bearer token is its registration token. */
  async function authorised(request: FastifyRequest<{ Params: { id: string } }>, reply: FastifyReply) {
    const token = bearerToken(request.headers.authorization);
    if (!token) {
      invalidToken(reply, 'send the registration access token as Authorization: Bearer');
      return undefined;
    }
    const res = await pool.query<ClientRow>(
      'SELECT client_id, metadata, registration_token_hash, extract(epoch from created_at)::bigint AS issued_at FROM auth.clients WHERE client_id = $1',
      [request.params.id],
    );
    const row = res.rows[0];
    // One answer for an unknown client and a wrong token: nothing to learn about other clients.
    if (!row || !secretMatches(token, row.registration_token_hash)) {
      invalidToken(reply, 'the registration access token is not valid for this client');
      return undefined;
    }
    return row;
  }

  /** RFC 7591 §3.1: the body is JSON; fastify would read text/plain as a string otherwise. */
  const notJson = (request: FastifyRequest, reply: FastifyReply) => {
    const type = request.headers['content-type'] ?? '';
    if (/^application\/json\s*(;|$)/i.test(type)) return false;
    jsonError(reply, 400, 'invalid_request', `the body must be application/json, not "${type || 'nothing'}"`);
    return true;
  };

  /** The client metadata of a request body, or undefined once the 400 is sent. */
  const metadataOrError = (body: unknown, reply: FastifyReply): ClientMetadata | undefined => {
    try {
      return parseClientMetadata(body);
    } catch (err) {
      // parseClientMetadata throws MetadataError only: every input problem is one.
      const e = err as MetadataError;
      jsonError(reply, 400, e.error, e.message);
      return undefined;
    }
  };

  const noStore = (reply: FastifyReply) =>
    reply.header('cache-control', 'no-store').header('pragma', 'no-cache');

  app.post('/register', async (request, reply) => {
    if (notJson(request, reply)) return reply;
    const metadata = metadataOrError(request.body, reply);
    if (!metadata) return reply;
    const clientId = newSecret();
    const registrationToken = newSecret();
    const secret = metadata.token_endpoint_auth_method === 'none' ? undefined : newSecret();
    const res = await pool.query<{ issued_at: string }>(
      `INSERT INTO auth.clients (client_id, client_secret_hash, registration_token_hash, metadata)
       VALUES ($1, $2, $3, $4) RETURNING extract(epoch from created_at)::bigint AS issued_at`,
      [clientId, secret ? hashSecret(secret) : null, hashSecret(registrationToken), metadata],
    );
    const body = {
      ...view({
        client_id: clientId,
        metadata,
        registration_token_hash: '',
        issued_at: res.rows[0]?.issued_at ?? '0',
      }),
      registration_access_token: registrationToken,
      ...(secret ? { client_secret: secret, client_secret_expires_at: 0 } : {}),
    };
    return noStore(reply).code(201).send(body);
  });

  app.get<{ Params: { id: string } }>('/register/:id', async (request, reply) => {
    const row = await authorised(request, reply);
    if (!row) return reply;
    return noStore(reply).send(view(row));
  });

  app.put<{ Params: { id: string } }>('/register/:id', async (request, reply) => {
    const row = await authorised(request, reply);
    if (!row) return reply;
    if (notJson(request, reply)) return reply;
    // RFC 7592 §2.2: the body is the client's metadata, a JSON object; `42` or "hello" is not.
    if (typeof request.body !== 'object' || request.body === null || Array.isArray(request.body))
      return jsonError(
        reply,
        400,
        'invalid_client_metadata',
        'the body must be a JSON object of client metadata',
      );
    const body = request.body as Record<string, unknown>;
    const readOnly = READ_ONLY_FIELDS.filter((f) => f in body);
    if (readOnly.length > 0) {
      return jsonError(
        reply,
        400,
        'invalid_client_metadata',
        `${readOnly.join(', ')} cannot be set by the client`,
      );
    }
    if (body.client_id !== row.client_id) {
      return jsonError(
        reply,
        400,
        'invalid_client_metadata',
        'client_id must be sent and equal this client’s id',
      );
    }
    // RFC 7592 §2.2: the request replaces the metadata; omitted fields go back to defaults.
    const metadata = metadataOrError(body, reply);
    if (!metadata) return reply;
    if (metadata.token_endpoint_auth_method !== row.metadata.token_endpoint_auth_method) {
      return jsonError(
        reply,
        400,
        'invalid_client_metadata',
        'token_endpoint_auth_method cannot change; register a new client',
      );
    }
    // RFC 7591 §2: software_id "SHOULD remain the same across multiple updates"; here it must,
    // which is also what lets `just test-cleanup` find a test client whose name was changed.
    if (metadata.software_id !== row.metadata.software_id) {
      return jsonError(
        reply,
        400,
        'invalid_client_metadata',
        `software_id cannot change (it is ${row.metadata.software_id === undefined ? 'unset' : `"${row.metadata.software_id}"`}); send it as registered`,
      );
    }
    await pool.query('UPDATE auth.clients SET metadata = $2 WHERE client_id = $1', [row.client_id, metadata]);
    return noStore(reply).send(view({ ...row, metadata }));
  });

  app.delete<{ Params: { id: string } }>('/register/:id', async (request, reply) => {
    const row = await authorised(request, reply);
    if (!row) return reply;
    await pool.query('DELETE FROM auth.clients WHERE client_id = $1', [row.client_id]);
    return reply.code(204).send();
  });
}
