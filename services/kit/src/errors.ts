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

/**
 * Bodies that do not parse, and content types the server does not read, become
 * `invalid_request` (validation failures included) instead of fastify's own error shape; anything unexpected is a 500 with
 * no details (the log has them).
 */
export function installJsonErrors(app: FastifyInstance): void {
  app.setErrorHandler((err: Error & { statusCode?: number; code?: string }, request, reply) => {
    const status = err.statusCode ?? 500;
    // A body over the limit keeps its 413; every other client error is an invalid request.
    if (status >= 400 && status < 500) {
      return jsonError(reply, status === 413 ? 413 : 400, 'invalid_request', err.message);
    }
    request.log.error({ err }, 'unexpected failure');
    return jsonError(reply, 500, 'server_error', 'the server failed; the failure is logged');
  });
  app.setNotFoundHandler((request, reply) =>
    jsonError(reply, 404, 'not_found', `no route ${request.method} ${request.url.split('?')[0]}`),
  );
}
