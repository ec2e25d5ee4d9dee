import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { jsonError } from './errors.js';

/** Deeper than this, a JSON body is refused: nothing of ours nests so far, and recursion would. */
export const MAX_DEPTH = 32;

/** The one id format of both services: a UUID as PostgreSQL stores it, never `urn:uuid:...`. */
export const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

// A high surrogate not followed by a low one, or a low one not after a high one.
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** What is wrong with one text value, or undefined. */
function badText(s: string): string | undefined {
  if (s.includes('\u0000')) return 'holds a NUL character, which no text column can store';
  if (LONE_SURROGATE.test(s)) return 'is not valid Unicode (a lone UTF-16 surrogate)';
  return undefined;
}

/**
 * The first problem of a parsed value (params, query or a JSON body), walked without recursion
 * so that depth itself cannot overflow the stack: a NUL or a lone surrogate in a key or a string,
 * a number that is not finite, or nesting deeper than MAX_DEPTH. `where` names the field as a user would write it.
 */
export function inputProblem(value: unknown, where: string): string | undefined {
  const stack: { v: unknown; at: string; depth: number }[] = [{ v: value, at: where, depth: 0 }];
  while (stack.length > 0) {
    const { v, at, depth } = stack.pop() as { v: unknown; at: string; depth: number };
    if (typeof v === 'string') {
      const bad = badText(v);
      if (bad) return `${at} ${bad}`;
      continue;
    }
    // JSON's 1e400, or a query's "Infinity" once the schema made it a number: PostgreSQL refuses both.
    if (typeof v === 'number' && !Number.isFinite(v)) return `${at} must be a finite number`;
    if (typeof v !== 'object' || v === null) continue;
    if (depth >= MAX_DEPTH) return `${where} is nested deeper than ${MAX_DEPTH} levels`;
    for (const [k, child] of Object.entries(v)) {
      const key = Array.isArray(v) ? `${at}[${k}]` : `${at}.${k}`;
      const bad = Array.isArray(v) ? undefined : badText(k);
      if (bad) return `a field name in ${at} ${bad}`;
      stack.push({ v: child, at: key, depth: depth + 1 });
    }
  }
  return undefined;
}

/** A form body, as the services read it: every name and value decoded. */
const formFields = (body: string) => Object.fromEntries(new URLSearchParams(body));

/**
 * Every request's path parameters, query and body checked once, before any route sees them: what
 * PostgreSQL cannot store (a NUL, invalid Unicode) or a handler should not walk (deep nesting) is
 * a 400 naming the field, not a 500 from wherever it first breaks.
 */
export function installInputChecks(app: FastifyInstance): void {
  // RFC 9112 §3.2: an HTTP/1.1 request without Host is a 400, in words.
  app.addHook('onRequest', async (request, reply) => {
    if (request.raw.httpVersion === '1.1' && request.headers.host === undefined)
      return jsonError(
        reply,
        400,
        'invalid_request',
        'the Host header is missing (RFC 9112 §3.2: HTTP/1.1 requires it)',
      );
  });
  app.addHook('preValidation', async (request: FastifyRequest, reply: FastifyReply) => {
    const body = typeof request.body === 'string' ? formFields(request.body) : request.body;
    const problem =
      inputProblem(request.params, 'path') ??
      inputProblem(request.query, 'query') ??
      inputProblem(body, 'body');
    if (problem) return jsonError(reply, 400, 'invalid_request', problem);
  });
  // Once more after validation, which turned numeric query strings into numbers.
  app.addHook('preHandler', async (request: FastifyRequest, reply: FastifyReply) => {
    const problem = inputProblem(request.query, 'query');
    if (problem) return jsonError(reply, 400, 'invalid_request', problem);
  });
}
