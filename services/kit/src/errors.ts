import type { FastifyInstance, FastifyReply } from 'fastify';

/**
 * The one error shape of both services (RFC 6749 §5.2's): JSON with `error` and
 * `error_description`, never cached.
 */
export function jsonError(reply: FastifyReply, status: number, error: string, description: string) {
  return reply
    .code(status)
    .header('cache-control', 'no-store')
    .send({ error, error_description: description });
}

interface ValidationEntry {
  keyword: string;
  instancePath: string;
  message?: string;
  params: { additionalProperty?: string; missingProperty?: string };
}

/** A schema validation failure in words that name the field: `unknown field "organisation_id" in body`. */
function describeValidation(err: Error & { validation?: ValidationEntry[]; validationContext?: string }) {
  if (!err.validation?.length) return undefined;
  const where = err.validationContext ?? 'body';
  return err.validation
    .map((v) => {
      const at = `${where}${v.instancePath}`;
      if (v.keyword === 'additionalProperties')
        return `unknown field "${v.params.additionalProperty}" in ${at}`;
      if (v.keyword === 'required') return `${at} needs "${v.params.missingProperty}"`;
      return `${at} ${v.message}`;
    })
    .join('; ');
}

/** A dependency (the database, the authorization server) cannot answer now: 503, not a bug. */
export class Unavailable extends Error {
  readonly statusCode = 503;
}

const UNREACHABLE = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENOTFOUND',
]);

/**
 * The database is down or its connection broke (not a bug of ours): a refused or reset socket,
 * a pool that cannot connect in time, a connection exception (SQLSTATE class 08) or a server
 * shutting down (57P01 to 57P03).
 */
export function databaseUnavailable(err: Error & { code?: unknown }): boolean {
  const code = typeof err.code === 'string' ? err.code : '';
  if (UNREACHABLE.has(code) || /^08/.test(code) || /^57P0[123]$/.test(code)) return true;
  return /Connection terminated|timeout exceeded when trying to connect|connection error/i.test(err.message);
}

/**
 * Bodies that do not parse, and content types the server does not read, become
 * `invalid_request` (validation failures included) instead of fastify's own error shape; a
 * database or authorization server that cannot answer now is a 503 `temporarily_unavailable`
 * (RFC 6749 §4.1.2.1's word) with Retry-After; anything unexpected is a 500 with no details (the
 * log has them).
 */
export function installJsonErrors(app: FastifyInstance): void {
  app.setErrorHandler(
    (err: Error & { statusCode?: number; code?: string; errorCode?: string }, request, reply) => {
      const status = err.statusCode ?? 500;
      // A route's own answer, thrown from deep inside a transaction (409 conflict, say).
      if (err.errorCode && status >= 400 && status < 500)
        return jsonError(reply, status, err.errorCode, err.message);
      // A body over the limit keeps its 413; every other client error is an invalid request.
      if (status >= 400 && status < 500) {
        return jsonError(
          reply,
          status === 413 ? 413 : 400,
          'invalid_request',
          describeValidation(err) ?? err.message,
        );
      }
      if (status === 503 || databaseUnavailable(err)) {
        request.log.warn({ err: err.message }, 'a dependency is unavailable');
        reply.header('retry-after', '1');
        return jsonError(
          reply,
          503,
          'temporarily_unavailable',
          err instanceof Unavailable ? err.message : 'the database is unavailable; try again shortly',
        );
      }
      request.log.error({ err }, 'unexpected failure');
      return jsonError(reply, 500, 'server_error', 'the server failed; the failure is logged');
    },
  );
  app.setNotFoundHandler((request, reply) =>
    jsonError(reply, 404, 'not_found', `no route ${request.method} ${request.url.split('?')[0]}`),
  );
}
