import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { mergeProcessCovs } from '@bcoe/v8-coverage';
import type { Slice } from '../spy/slices.js';
import type { StackSpec } from '../stack/spec.js';
import { selectScripts } from './select.js';

export interface PathMapping {
  /** Where the service's files are in its container (or process), e.g. /app. */
  container: string;
  /** The same files in the repository. */
  host: string;
}

/** One script of a V8 dump (NODE_V8_COVERAGE): its URL and its functions' ranges and counts. */
export interface ScriptCoverage {
  url: string;
  functions?: {
    ranges: { startOffset: number; endOffset: number; count: number }[];
    [key: string]: unknown;
  }[];
  [key: string]: unknown;
}

/** What Node adds to a dump for a script with a source map: the map, and the script's line lengths. */
export interface SourceMapCacheEntry {
  lineLengths?: number[];
  data?: {
    sources?: string[];
    sourceRoot?: string;
    sourcesContent?: (string | null)[];
    mappings?: string;
    [key: string]: unknown;
  } | null;
  [key: string]: unknown;
}

export interface ProcessCoverage {
  result: ScriptCoverage[];
  'source-map-cache'?: Record<string, SourceMapCacheEntry>;
  [key: string]: unknown;
}

export interface RemapOutcome {
  /** Scripts of the project kept (node internals, node_modules and the spy dropped). */
  kept: number;
  /** Host files named by the dump (scripts or their sources) that do not exist. */
  missing: string[];
}

/** file:///app/x.js or /app/x.js under the container root → the host path; else undefined. */
function toHost(url: string, map: PathMapping): string | undefined {
  let p: string;
  if (url.startsWith('file://')) p = fileURLToPath(url);
  else if (url.startsWith('/')) p = url;
  else return undefined;
  const root = map.container.replace(/\/$/, '');
  if (p !== root && !p.startsWith(`${root}/`)) return undefined;
  return path.join(map.host, p.slice(root.length));
}

/** Where a source a map names is: a `file:` URL as it says, else against the script's folder. */
export const sourcePath = (script: string, data: { sourceRoot?: string }, source: string): string =>
  source.startsWith('file:')
    ? fileURLToPath(source)
    : path.resolve(path.dirname(script), data.sourceRoot ?? '', source);

/** The service's own code: not its packages, and not the spy (mounted beside it, or in the repo). */
export const isProjectFile = (hostPath: string) => {
  const segments = hostPath.split(path.sep);
  return !segments.includes('node_modules') && !segments.includes('coverage-spy');
};

/**
 * Rewrites one V8 dump from container paths to repository paths and keeps only the project's
 * scripts: `result[].url`, the `source-map-cache` keys, and each map's absolute `sources` and
 * `sourceRoot`. Relative `sources` need nothing: the layout under the root is the same.
 */
export interface Remapped {
  cov: ProcessCoverage;
  outcome: RemapOutcome;
}

export function remapProcessCoverage(
  cov: ProcessCoverage,
  map: PathMapping,
  exists: (p: string) => boolean = existsSync,
  /** Whether the dumps give a script's source map (an earlier dump's counts too). */
  hasMap: (url: string) => boolean = (url) => Boolean(cov['source-map-cache']?.[url]?.data),
): Remapped {
  const missing = new Set<string>();
  const result: ScriptCoverage[] = [];
  for (const script of cov.result) {
    const host = toHost(script.url, map);
    if (!host || !isProjectFile(host)) continue;
    // A script built inside the image (a Dockerfile's `RUN npm run build`) is not on the host;
    // with its map in the dump, its sources are what the report needs, and they are checked below.
    if (!exists(host) && !hasMap(script.url)) missing.add(host);
    result.push({ ...script, url: pathToFileURL(host).href });
  }
  const cache: Record<string, SourceMapCacheEntry> = {};
  for (const [key, entry] of Object.entries(cov['source-map-cache'] ?? {})) {
    const host = toHost(key, map);
    if (!host || !isProjectFile(host)) continue;
    const data = entry.data ? { ...entry.data } : entry.data;
    if (data) {
      if (data.sourceRoot) data.sourceRoot = toHost(data.sourceRoot, map) ?? data.sourceRoot;
      data.sources = (data.sources ?? []).map((s) => toHost(s, map) ?? s);
      for (const s of data.sources) {
        const resolved = sourcePath(host, data, s);
        // A bundle's map names its packages' files too, which the report drops: a bundle built
        // in an image may name packages this machine never installed.
        if (isProjectFile(resolved) && !exists(resolved)) missing.add(resolved);
      }
    }
    cache[pathToFileURL(host).href] = { ...entry, data };
  }
  return {
    cov: { ...cov, result, 'source-map-cache': cache },
    outcome: {
      kept: result.length,
      missing: [...missing].sort(),
    },
  };
}

/**
 * Remaps one dump's bytes. The fast path (select.ts) parses only the project's scripts, and
 * only the source maps not in `mapsSeen` (the service's maps already read from an earlier
 * dump, by their URL in the dump); a dump of another shape is parsed whole.
 */
export function remapDump(
  buf: Buffer,
  map: PathMapping,
  exists: (p: string) => boolean,
  mapsSeen: Set<string> = new Set(),
): Remapped {
  const keep = (url: string) => {
    const host = toHost(url, map);
    return host !== undefined && isProjectFile(host);
  };
  const keepMap = (url: string) => {
    if (mapsSeen.has(url) || !keep(url)) return false;
    mapsSeen.add(url);
    return true;
  };
  let cov: ProcessCoverage | undefined;
  const root = map.container.replace(/\/$/, '');
  const filter = {
    prefixes: [Buffer.from(`${pathToFileURL(root).href}/`), Buffer.from(`${root}/`)],
    skip: [Buffer.from('node_modules/')],
  };
  try {
    cov = selectScripts(buf, keep, filter, keepMap) as ProcessCoverage | undefined;
  } catch {
    cov = undefined;
  }
  const whole = cov ?? (JSON.parse(buf.toString('utf8')) as ProcessCoverage);
  return remapProcessCoverage(
    whole,
    map,
    exists,
    (url) => mapsSeen.has(url) || Boolean(whole['source-map-cache']?.[url]?.data),
  );
}

/**
 * One dump for a whole service: the counts of every process, replica, restart and snapshot
 * summed (V8's own merge), and the source maps of all of them. c8 then reads one small file.
 */
export function mergeRemapped(dumps: Remapped['cov'][]): Remapped['cov'] {
  const merged = mergeProcessCovs(dumps.map((d) => ({ result: d.result }))) as { result: ScriptCoverage[] };
  const cache = Object.assign({}, ...dumps.map((d) => d['source-map-cache']));
  return { result: merged.result, 'source-map-cache': cache };
}

/**
 * One per-test slice in repository paths: its process's source root (as the spy saw it) under
 * its service's. Undefined for a service the stack does not map to the repository.
 */
export function remapSlice(
  slice: Pick<Slice, 'service' | 'sourceRoot' | 'result'>,
  stack: StackSpec,
  exists?: (p: string) => boolean,
): Remapped['cov'] | undefined {
  const label = stack.services.find((s) => s.name === slice.service)?.sourceRoot;
  if (!label) return undefined;
  return remapProcessCoverage(
    { result: slice.result },
    { container: slice.sourceRoot, host: label.host },
    exists,
  ).cov;
}
