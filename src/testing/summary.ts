import type { Parser, Result } from 'tap-parser';
import { BAIL_OUT, type Counts, type FileCounts, OUTSIDE_TESTS, type Status } from '../results/model.js';

const describeFailure = (r: Result): string => {
  const diag = (r.diag ?? {}) as {
    message?: string;
    at?: { fileName?: string; lineNumber?: number };
    cause?: { message?: string; code?: string; address?: string; port?: number };
    // node:test's TAP says it its own way: `error: 'fetch failed'`, `location: '/p/a.test.js:6:1'`.
    error?: string;
    location?: string;
  };
  const where = diag.at?.fileName
    ? `${diag.at.fileName}:${diag.at.lineNumber ?? '?'}`
    : diag.location?.replace(/:\d+$/, '');
  const at = where ? ` (${where})` : '';
  // fetch's own message is "fetch failed"; what failed is in its cause (connect ECONNREFUSED ...),
  // or only in its code when both of localhost's addresses refused (an AggregateError).
  const { cause } = diag;
  const why = cause?.message || (cause?.code && `${cause.code} ${cause.address ?? ''}:${cause.port ?? ''}`);
  const said = [diag.message ?? diag.error?.trim(), why].filter((m) => m && m !== r.name);
  return `${[r.name, ...said].join(': ')}${at}`;
};

/** The failing assertions under a test, at any depth: what a JUnit failure and the history say. */
function collectFailures(test: Parser, into: string[]): void {
  test.on('assert', (r: Result) => {
    if (!r.ok && !r.skip && !r.todo && into.length < 5) into.push(describeFailure(r));
  });
  test.on('child', (sub: Parser) => collectFailures(sub, into));
}

/**
 * Reads tap's TAP stream as it goes by: each test file is a subtest of the run, and each
 * `t.test(...)` inside it is one test. A file that failed outside any test (a crash, a bad plan,
 * a timeout) counts as one failure, so nothing broken reads as passing.
 */
export async function tapCounter(): Promise<{ parser: Parser; files: FileCounts[] }> {
  // Loaded when a run's output comes: tap-parser and its YAML are 70 ms to load.
  const { Parser } = await import('tap-parser');
  const files: FileCounts[] = [];
  const parser = new Parser();
  const byName = new Map<string, FileCounts>();
  parser.on('child', (file: Parser) => {
    const own: FileCounts = { file: file.name, tests: [], ms: null, endedAt: null };
    byName.set(file.name, own);
    files.push(own);
    const details = new Map<string, string[]>();
    file.on('child', (test: Parser) => {
      const into: string[] = [];
      details.set(test.name, into);
      collectFailures(test, into);
    });
    file.on('assert', (r: Result) => {
      const status = r.skip || r.todo ? 'skipped' : r.ok ? 'passed' : 'failed';
      const found = details.get(r.name) ?? [];
      own.tests.push({
        name: r.name,
        status,
        ms: r.time ?? null,
        attempts: 1,
        failures: status === 'failed' ? [found.length ? found.join('; ') : describeFailure(r)] : [],
      });
    });
  });
  parser.on('assert', (r: Result) => {
    const own = byName.get(r.name);
    if (own) {
      own.ms = r.time;
      own.endedAt = Date.now();
    }
    if (!r.ok && !r.skip && !r.todo && !own?.tests.some((t) => t.status === 'failed')) {
      const file = own ?? { file: r.name, tests: [], ms: null, endedAt: Date.now() };
      if (!own) files.push(file);
      file.tests.push({ name: OUTSIDE_TESTS, status: 'failed', ms: null, attempts: 1, failures: [r.name] });
    }
  });
  parser.on('bailout', (reason: string) => {
    files.push({
      file: BAIL_OUT,
      tests: [{ name: `bail out: ${reason}`, status: 'failed', ms: null, attempts: 1, failures: [reason] }],
      ms: null,
      endedAt: Date.now(),
    });
  });
  return { parser, files };
}

/** "N passed, N failed", then what else there was: flaky, quarantined, skipped. */
export const summaryLine = (c: Omit<Counts, 'files' | 'failures'>): string =>
  `${c.passed} passed, ${c.failed} failed${c.flaky ? `, ${c.flaky} flaky` : ''}${c.quarantined ? `, ${c.quarantined} quarantined` : ''}${c.skipped ? `, ${c.skipped} skipped` : ''}`;

const count = (f: FileCounts, status: Status) => f.tests.filter((t) => t.status === status).length;

/** The --by-module table: one line per file, slowest first. */
export function fileTable(files: FileCounts[]): string {
  const width = Math.max(4, ...files.map((f) => f.file.length));
  const rows = [...files]
    .sort((a, b) => (b.ms ?? 0) - (a.ms ?? 0))
    .map(
      (f) =>
        `${f.file.padEnd(width)}  ${String(count(f, 'passed')).padStart(6)}  ${String(count(f, 'failed')).padStart(6)}  ${String(count(f, 'skipped')).padStart(7)}  ${f.ms === null ? '      -' : `${(f.ms / 1000).toFixed(1).padStart(6)}s`}`,
    );
  return [`${'file'.padEnd(width)}  passed  failed  skipped    time`, ...rows].join('\n');
}
