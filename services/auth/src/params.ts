import type { FastifyReply } from 'fastify';
import { jsonError } from '../../kit/src/index.js';
/**
 * OAuth parameters from a query string or an application/x-www-form-urlencoded body.
 * RFC 6749 §3.1 and §3.2: parameters sent without a value are treated as omitted, and request
 * parameters must not be included more than once, so duplicates are reported, not resolved.
 */
export interface Params {
  get(name: string): string | undefined;
  /** Names that occur more than once (with a value), in order of first appearance. */
  duplicated: string[];
  /** Every name sent with a value. */
  names: string[];
}

export function parseParams(raw: string): Params {
  const values = new Map<string, string>();
  const duplicated = new Set<string>();
  for (const [name, value] of new URLSearchParams(raw)) {
    if (value === '') continue;
    if (values.has(name)) duplicated.add(name);
    else values.set(name, value);
  }
  return { get: (name) => values.get(name), duplicated: [...duplicated], names: [...values.keys()] };
}

/** The raw query string of a request URL ('' when there is none). */
export const queryOf = (url: string): string => {
  const at = url.indexOf('?');
  return at === -1 ? '' : url.slice(at + 1);
};

/** The raw body of an application/x-www-form-urlencoded request, else undefined. */
export function formBody(request: {
  body: unknown;
  headers: { 'content-type'?: string };
}): string | undefined {
  const form = /^application\/x-www-form-urlencoded\s*(;|$)/i.test(request.headers['content-type'] ?? '');
  return form && typeof request.body === 'string' ? request.body : undefined;
}

/**
 * The parameters if none is sent twice, else undefined once the 400 is sent: with two values,
 * which one counts would be a guess (RFC 6749 §3.1, and a consent of "allow&deny" must not
 * read as either).
 */
export function singleValued(params: Params, reply: FastifyReply): Params | undefined {
  if (params.duplicated.length === 0) return params;
  jsonError(reply, 400, 'invalid_request', `${params.duplicated.join(', ')} sent more than once`);
  return undefined;
}
