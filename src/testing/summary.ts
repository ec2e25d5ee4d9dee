import { Parser, type Result } from 'tap-parser';

export interface Counts {
  passed: number;
  failed: number;
  skipped: number;
  /** "file: test name" of each failure, for the closing report. */
  failures: string[];
}

/**
 * Counts tests from tap's TAP stream as it goes by: each test file is a subtest of the run,
 * and each `t.test(...)` inside it is one test. A file that failed outside any test (a crash,
 * a bad plan, a timeout) counts as one failure, so nothing broken reads as passing.
 */
export function tapCounter(): { parser: Parser; counts: Counts } {
  const counts: Counts = { passed: 0, failed: 0, skipped: 0, failures: [] };
  const parser = new Parser();
  const failedIn = new Map<string, number>();
  parser.on('child', (file: Parser) => {
    file.on('assert', (r: Result) => {
      if (r.skip || r.todo) counts.skipped++;
      else if (r.ok) counts.passed++;
      else {
        counts.failed++;
        failedIn.set(file.name, (failedIn.get(file.name) ?? 0) + 1);
        counts.failures.push(`${file.name}: ${r.name}`);
      }
    });
  });
  parser.on('assert', (r: Result) => {
    if (!r.ok && !r.skip && !r.todo && !failedIn.get(r.name)) {
      counts.failed++;
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
