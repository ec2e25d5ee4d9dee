import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { jsonError } from './errors.js';

/** The token of `Authorization: Bearer <token>` (RFC 6750 §2.1; the scheme is case-insensitive). */
export function bearerToken(header: string | undefined): string | undefined {
  return /^bearer\s+(\S+)$/i.exec(header ?? '')?.[1];
}

const digest = (s: string) => createHash('sha256').update(s).digest();

/**
 * The check of both services' admin APIs: `Authorization: Bearer <REALSTACK_ADMIN_TOKEN>`,
 * compared in constant time (as digests, so lengths do not leak either), never logged. Answers
 * 401 itself and returns false when the token is missing or wrong.
 */
export function adminGuard(adminToken: string) {
  const expected = digest(adminToken);
  return (request: FastifyRequest, reply: FastifyReply): boolean => {
    const token = bearerToken(request.headers.authorization);
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
