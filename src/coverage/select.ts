/**
 * Reads only the project's part of a V8 dump, without parsing the rest.
 *
 * Most of a dump is not the project's: node internals and node_modules make up nearly all of
 * `result`, and the source maps of packages most of `source-map-cache`. Node writes a dump as
 * compact JSON.stringify output in a fixed shape:
 *
 *   {"result":[{"scriptId":"1","url":"…","functions":[…]},…],"timestamp":…,
 *    "source-map-cache":{"file:///…":{"lineLengths":[…],"data":{…},"url":…},…}}
 *
 * Inside a JSON string every quote is escaped, so the byte patterns below occur only as that
 * structure. Each script and each source-map entry is found with Buffer.indexOf (native), its
 * URL read in place, and only the kept ones are decoded and parsed. Anything unexpected returns
 * undefined, and the caller parses the whole dump instead.
 */

const RESULT_START = Buffer.from('{"result":[');
const SCRIPT = Buffer.from('{"scriptId":"');
const URL_FIELD = Buffer.from('","url":"');
const RESULT_END = Buffer.from('],"timestamp":');
const SMC_START = Buffer.from(',"source-map-cache":{');
const SMC_ENTRY = Buffer.from('":{"lineLengths":');
const QUOTE = 0x22;
const BACKSLASH = 0x5c;

export interface SelectedCoverage {
  result: { url: string; [key: string]: unknown }[];
  'source-map-cache': Record<string, { [key: string]: unknown }>;
}

/** The string starting at `start` up to its closing quote; undefined if it holds an escape. */
function plainString(buf: Buffer, start: number): { value: string; end: number } | undefined {
  const end = buf.indexOf(QUOTE, start);
  if (end < 0) return undefined;
  // Searched within the string only: a search to the next backslash anywhere would cost O(dump).
  if (buf.subarray(start, end).includes(BACKSLASH)) return undefined;
  return { value: buf.toString('utf8', start, end), end };
}

const matchAt = (buf: Buffer, at: number, p: Buffer) => buf.compare(p, 0, p.length, at, at + p.length) === 0;

/** Byte-level pre-filter of URLs, so that most are passed over without being decoded. */
export interface UrlFilter {
  /** A kept URL starts with one of these (the encoded source root). */
  prefixes: Buffer[];
  /** ...and does not go on, right after that prefix, with one of these (`node_modules/`). */
  skip: Buffer[];
}

function candidate(buf: Buffer, at: number, filter: UrlFilter | undefined): boolean {
  if (!filter) return true;
  const prefix = filter.prefixes.find((p) => matchAt(buf, at, p));
  return prefix !== undefined && !filter.skip.some((s) => matchAt(buf, at + prefix.length, s));
}

/**
 * `keep` decides on each URL the filter lets through: a dump names hundreds of scripts and
 * source maps, of which a handful are the project's. `keepMap` decides on source maps (by
 * default as `keep`): every dump of a service carries the same maps, worth parsing once.
 */
export function selectScripts(
  buf: Buffer,
  keep: (url: string) => boolean,
  filter?: UrlFilter,
  keepMap: (url: string) => boolean = keep,
): SelectedCoverage | undefined {
  if (!matchAt(buf, 0, RESULT_START)) return undefined;

  const result: SelectedCoverage['result'] = [];
  let resultEnd = -1;
  let at = buf.indexOf(SCRIPT, RESULT_START.length);
  while (at >= 0) {
    const next = buf.indexOf(SCRIPT, at + SCRIPT.length);
    // Before the comma between two scripts; the last one ends where the result array does.
    if (next < 0) resultEnd = buf.indexOf(RESULT_END, at);
    const end = next >= 0 ? next - 1 : resultEnd;
    if (end < 0) return undefined;
    const field = buf.indexOf(URL_FIELD, at);
    if (field < 0 || field > end) return undefined;
    if (candidate(buf, field + URL_FIELD.length, filter)) {
      const url = plainString(buf, field + URL_FIELD.length);
      if (!url) return undefined;
      if (keep(url.value)) result.push(JSON.parse(buf.toString('utf8', at, end)));
    }
    at = next;
  }
  if (resultEnd < 0) resultEnd = buf.indexOf(RESULT_END, RESULT_START.length);
  if (resultEnd < 0) return undefined;

  const cache: SelectedCoverage['source-map-cache'] = {};
  const smc = buf.indexOf(SMC_START, resultEnd);
  if (smc >= 0) {
    // The dump ends with the cache's closing brace and the dump's own.
    if (buf[buf.length - 1] !== 0x7d || buf[buf.length - 2] !== 0x7d) return undefined;
    // Each entry: the opening quote of its key, and where its value starts.
    const entries: { open: number; value: number }[] = [];
    for (let p = buf.indexOf(SMC_ENTRY, smc); p >= 0; p = buf.indexOf(SMC_ENTRY, p + SMC_ENTRY.length)) {
      entries.push({ open: buf.lastIndexOf(QUOTE, p - 1), value: p + 2 });
    }
    for (const [i, e] of entries.entries()) {
      if (!candidate(buf, e.open + 1, filter)) continue;
      const key = plainString(buf, e.open + 1);
      if (!key || key.end !== e.value - 2) return undefined;
      if (!keepMap(key.value)) continue;
      const next = entries[i + 1];
      // Up to the comma before the next key, or the cache's closing brace.
      const end = next ? next.open - 1 : buf.length - 2;
      cache[key.value] = JSON.parse(buf.toString('utf8', e.value, end));
    }
  }
  return { result, 'source-map-cache': cache };
}
