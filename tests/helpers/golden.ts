/**
 * GOLDEN: the one normaliser every snapshot of a real response goes through, so that a snapshot
 * holds the response's shape and stable values, never what differs from run to run: timestamps,
 * uuids, JWTs, opaque secrets, ports, the run id, and the order of unordered lists.
 */
import { stack } from './stack.js';

const s = stack();

const JWT = /^eyJ[\w-]*\.eyJ[\w-]*\.[\w-]+$/;
const RULES: [RegExp, string][] = [
  [/\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)/g, '<timestamp>'],
  [/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/gi, '<uuid>'],
  [/(127\.0\.0\.1|localhost|\[::1\]):\d+/g, '$1:<port>'],
];

// A random value in base64url (ids, secrets, tokens): long, mixed case, no spaces.
const opaque = (v: string) => /^[\w-]{20,}$/.test(v) && /[A-Z]/.test(v) && /[a-z]/.test(v);

// Numbers that are clocks: seconds since the epoch under their RFC names, or any `*_at`.
const CLOCK_KEYS = /^(iat|exp|nbf|auth_time|client_id_issued_at|client_secret_expires_at)$|_at$/;

function text(value: string): string {
  let out = value.split(s.runId).join('<run>');
  if (JWT.test(out)) return '<jwt>';
  // Whole values (a client_id) and parts of them (the id in a registration_client_uri).
  out = out.replace(/[\w-]{20,}/g, (word) => (opaque(word) ? '<opaque>' : word));
  for (const [pattern, replacement] of RULES) out = out.replace(pattern, replacement);
  // A worker's tag in names: "TEST <run> w3 ..." is the same test on any worker.
  return out.replace(/<run> w\d+ /g, '<run> ');
}

export interface NormaliseOptions {
  /** Keys of arrays whose order is part of the contract (paging); every other array is sorted. */
  ordered?: string[];
}

export function normalise(value: unknown, options: NormaliseOptions = {}, key = ''): unknown {
  if (typeof value === 'string') return text(value);
  if (typeof value === 'number' && CLOCK_KEYS.test(key) && value !== 0) return '<time>';
  if (Array.isArray(value)) {
    const items = value.map((v) => normalise(v, options, key));
    return options.ordered?.includes(key)
      ? items
      : items.sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));
  }
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.keys(value)
        .sort()
        .map((k) => [k, normalise((value as Record<string, unknown>)[k], options, k)]),
    );
  }
  return value;
}

/** What of an HTTP answer a golden snapshot keeps: status, the headers that are contract, body. */
export function goldenResponse(
  res: { status: number; headers: Record<string, string | string[] | undefined>; text: string },
  options: NormaliseOptions = {},
) {
  const headers: Record<string, unknown> = {};
  for (const h of ['content-type', 'cache-control', 'www-authenticate', 'allow', 'location'])
    if (res.headers[h] !== undefined) headers[h] = res.headers[h];
  let body: unknown = res.text;
  try {
    body = res.text ? JSON.parse(res.text) : '';
  } catch {}
  return normalise({ status: res.status, headers, body }, options);
}
