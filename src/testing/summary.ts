import { Parser, type Result } from 'tap-parser';

/**
 * A test's outcome over a run's attempts: `flaky` failed in one attempt and passed in another;
 * `quarantined` failed, but the history had set it apart (src/flaky/), so the run does not fail.
 */
export type Status = 'passed' | 'failed' | 'skipped' | 'flaky' | 'quarantined';

/** Why a failing attempt failed, as far as the engine can tell (src/testing/stack-watch.ts). */
export type FailureClass = 'stack' | 'test';

/** One top-level test of a file (a `t.test(...)`): the unit the closing line counts. */
export interface TestResult {
  name: string;
  status: Status;
  /** tap's time for the test in its last attempt. */
  ms: number | null;
  attempts: number;
  /** What failed, one line per failing attempt. */
  failures: string[];
  /** Stack events while a failing attempt ran: a service exited, restarted, went unhealthy. */
  stack?: string[];
  failureClass?: FailureClass;
}

/** One test file's outcome: the --by-module table. */
export interface FileCounts {
  file: string;
  tests: TestResult[];
  /** tap's own time for the file, when it reported one. */
  ms: number | null;
  /** When its result came by (epoch ms): with `ms`, the window its requests were made in. */
  endedAt: number | null;
}

export interface Counts {
  passed: number;
  failed: number;
  skipped: number;
  flaky: number;
  quarantined: number;
  /** "file: test name" of each failure, for the closing report. */
  failures: string[];
  files: FileCounts[];
}

/** A file's failure outside any of its tests, counted as one failed test of its own. */
export const OUTSIDE_TESTS = '(the file itself: crash, plan or timeout)';

const describeFailure = (r: Result): string => {
  const diag = (r.diag ?? {}) as { message?: string; at?: { fileName?: string; lineNumber?: number } };
  const at = diag.at?.fileName ? ` (${diag.at.fileName}:${diag.at.lineNumber ?? '?'})` : '';
  return `${r.name}${diag.message && diag.message !== r.name ? `: ${diag.message}` : ''}${at}`;
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
export function tapCounter(): { parser: Parser; files: FileCounts[] } {
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
      file: '(tap)',
      tests: [{ name: `bail out: ${reason}`, status: 'failed', ms: null, attempts: 1, failures: [reason] }],
      ms: null,
      endedAt: Date.now(),
    });
  });
  return { parser, files };
}

/** The closing line's figures, from the files' tests. */
export function tally(files: FileCounts[]): Counts {
  const counts: Counts = { passed: 0, failed: 0, skipped: 0, flaky: 0, quarantined: 0, failures: [], files };
  for (const f of files)
    for (const t of f.tests) {
      counts[t.status]++;
      if (t.status === 'failed') counts.failures.push(`${f.file}: ${t.name}`);
    }
  return counts;
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
