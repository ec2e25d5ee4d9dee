import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { jsonError } from './errors.js';

const digest = (s: string) => createHash('sha256').update(s).digest();

/**
 * The check of both services' admin APIs: `Authorization: Bearer <REALSTACK_ADMIN_TOKEN>`,
 * compared in constant time (as digests, so lengths do not leak either), never logged. Answers
 * 401 itself and returns false when the token is missing or wrong.
 */
export function adminGuard(adminToken: string) {
  const expected = digest(adminToken);
  return (request: FastifyRequest, reply: FastifyReply): boolean => {
    const token = /^bearer\s+(\S+)$/i.exec(request.headers.authorization ?? '')?.[1];
    if (token && timingSafeEqual(digest(token), expected)) return true;
    jsonError(
      reply.header('www-authenticate', 'Bearer'),
      401,
      'invalid_token',
      'send the admin token as Authorization: Bearer',
    );
    return false;
  };
}
