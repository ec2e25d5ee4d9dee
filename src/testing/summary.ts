import { Parser, type Result } from 'tap-parser';

/** One test file's outcome: the --by-module table. */
export interface FileCounts {
  file: string;
  passed: number;
  failed: number;
  skipped: number;
  /** tap's own time for the file, when it reported one. */
  ms: number | null;
  /** When its result came by (epoch ms): with `ms`, the window its requests were made in. */
  endedAt: number | null;
}

export interface Counts {
  passed: number;
  failed: number;
  skipped: number;
  /** "file: test name" of each failure, for the closing report. */
  failures: string[];
  files: FileCounts[];
}

/**
 * Counts tests from tap's TAP stream as it goes by: each test file is a subtest of the run,
 * and each `t.test(...)` inside it is one test. A file that failed outside any test (a crash,
 * a bad plan, a timeout) counts as one failure, so nothing broken reads as passing.
 */
export function tapCounter(): { parser: Parser; counts: Counts } {
  const counts: Counts = { passed: 0, failed: 0, skipped: 0, failures: [], files: [] };
  const parser = new Parser();
  const byName = new Map<string, FileCounts>();
  parser.on('child', (file: Parser) => {
    const own: FileCounts = { file: file.name, passed: 0, failed: 0, skipped: 0, ms: null, endedAt: null };
    byName.set(file.name, own);
    counts.files.push(own);
    file.on('assert', (r: Result) => {
      if (r.skip || r.todo) {
        counts.skipped++;
        own.skipped++;
      } else if (r.ok) {
        counts.passed++;
        own.passed++;
      } else {
        counts.failed++;
        own.failed++;
        counts.failures.push(`${file.name}: ${r.name}`);
      }
    });
  });
  parser.on('assert', (r: Result) => {
    const own = byName.get(r.name);
    if (own) {
      own.ms = r.time;
      own.endedAt = Date.now();
    }
    if (!r.ok && !r.skip && !r.todo && !own?.failed) {
      counts.failed++;
      if (own) own.failed++;
      counts.failures.push(`${r.name}: the file failed outside its tests (crash, plan or timeout)`);
    }
  });
  parser.on('bailout', (reason: string) => {
    counts.failed++;
    counts.failures.push(`bail out: ${reason}`);
  });
  return { parser, counts };
}

export const summaryLine = (c: Counts): string =>
  `${c.passed} passed, ${c.failed} failed${c.skipped ? `, ${c.skipped} skipped` : ''}`;

/** The --by-module table: one line per file, slowest first. */
export function fileTable(files: FileCounts[]): string {
  const width = Math.max(4, ...files.map((f) => f.file.length));
  const rows = [...files]
    .sort((a, b) => (b.ms ?? 0) - (a.ms ?? 0))
    .map(
      (f) =>
        `${f.file.padEnd(width)}  ${String(f.passed).padStart(6)}  ${String(f.failed).padStart(6)}  ${String(f.skipped).padStart(7)}  ${f.ms === null ? '      -' : `${(f.ms / 1000).toFixed(1).padStart(6)}s`}`,
    );
  return [`${'file'.padEnd(width)}  passed  failed  skipped    time`, ...rows].join('\n');
}
