import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { decode, encode, type SourceMapMappings } from '@jridgewell/sourcemap-codec';
import { type ProcessCoverage, sourcePath } from './remap.js';

/**
 * A bundled service's script holds its packages' code beside its own: thousands of functions
 * and hundreds of files that the report drops once they are mapped back (report.ts), but only
 * after c8 has mapped every function, read every file and matched each against its exclusions.
 * Of each script whose map names a file that is not the project's, this keeps the functions
 * whose code is the project's (and the script's top level, which holds the bundle's ES
 * modules), and gives the map one source for all the packages, first (where c8 puts code it
 * cannot place), empty, and the project's sources with their text.
 */
export function trimBundles(cov: ProcessCoverage, isProjectFile: (file: string) => boolean): ProcessCoverage {
  const cache = { ...cov['source-map-cache'] };
  const result = cov.result.map((script) => {
    const entry = cache[script.url];
    const data = entry?.data;
    if (!entry?.lineLengths || !data?.sources || typeof data.mappings !== 'string') return script;
    const file = fileURLToPath(script.url);
    const sources = data.sources.map((s) => sourcePath(file, data, s));
    const own = sources.map(isProjectFile);
    if (own.every(Boolean)) return script;

    const lines = decode(data.mappings);
    const sourceAt = sourceFinder(lines, entry.lineLengths);
    const functions = script.functions?.filter((fn) => {
      const range = fn.ranges[0];
      if (!range || range.startOffset === 0) return true;
      const source = sourceAt(range.startOffset, range.endOffset);
      return source === undefined || own[source];
    });

    // Source 0 is the packages'; the project's follow in their order. The mappings are rewritten
    // in place, now that the functions have been sorted by them.
    const kept: { file: string; content: string }[] = [];
    const index = new Map<number, number>();
    sources.forEach((file, i) => {
      if (own[i]) index.set(i, kept.push({ file, content: data.sourcesContent?.[i] ?? readOrEmpty(file) }));
    });
    for (const line of lines) {
      let n = 0;
      for (const segment of line) {
        if (segment.length > 1) {
          const source = index.get(segment[1] as number) ?? 0;
          // A run of the packages' code is one segment: c8 looks a position up by the segment
          // at or before it, which is then a package's as before, and the map shrinks to half.
          if (source === 0 && n > 0 && line[n - 1]?.[1] === 0) continue;
          segment[1] = source;
        }
        line[n++] = segment;
      }
      line.length = n;
    }
    cache[script.url] = {
      ...entry,
      data: {
        ...data,
        sourceRoot: undefined,
        sources: [
          path.join(path.dirname(file), 'node_modules', '(bundled packages)'),
          ...kept.map((k) => k.file),
        ],
        sourcesContent: ['', ...kept.map((k) => k.content)],
        mappings: encode(lines),
      },
    };
    return { ...script, functions };
  });
  return { ...cov, result, 'source-map-cache': cache };
}

const readOrEmpty = (file: string) => {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    // Named as missing already (remap.ts): its lines are not counted.
    return '';
  }
};

/**
 * The source of the first mapped code at or after a generated offset, before `end`: a function's
 * first range may start on code the bundler wrote (a wrapper), not on a mapped token.
 */
function sourceFinder(lines: SourceMapMappings, lineLengths: number[]) {
  const lineStarts: number[] = [];
  let offset = 0;
  for (const length of lineLengths) {
    lineStarts.push(offset);
    offset += length + 1;
  }
  return (start: number, end: number): number | undefined => {
    let line = upperBound(lineStarts, start, (n) => n) - 1;
    let column = start - (lineStarts[line] ?? 0);
    for (; line < lines.length && (lineStarts[line] ?? Number.POSITIVE_INFINITY) < end; line++, column = 0) {
      const segments = lines[line] ?? [];
      // A minified bundle is one line of many segments: look them up, do not walk them.
      for (let i = upperBound(segments, column - 1, (s) => s[0]); i < segments.length; i++) {
        const segment = segments[i] as number[];
        if ((lineStarts[line] ?? 0) + (segment[0] as number) >= end) return undefined;
        if (segment.length > 1) return segment[1];
      }
    }
    return undefined;
  };
}

/** The index of the first element whose key is greater than `value`, in ascending order. */
function upperBound<T>(sorted: readonly T[], value: number, key: (item: T) => number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (key(sorted[mid] as T) <= value) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
