import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { Parser, type Result } from 'tap-parser';

export interface Counts {
  passed: number;
  failed: number;
  skipped: number;
  /** "file: test name" of each failure, for the closing report. */
  failures: string[];
}

function files(dir: string): string[] {
  let entries: string[] = [];
  try {
    entries = readdirSync(dir, { recursive: true }) as string[];
  } catch {
    return [];
  }
  return entries.filter((f) => f.endsWith('.tap')).map((f) => path.join(dir, f));
}

/**
 * Counts the top-level tests of every test file from the raw TAP that tap saved in
 * .tap/test-results: each `t.test(...)` is one test. A file that failed outside any test
 * (a crash, a bad plan) counts as one failure, so nothing broken reads as passing.
 */
export function countResults(resultsDir: string): Counts {
  const counts: Counts = { passed: 0, failed: 0, skipped: 0, failures: [] };
  for (const file of files(resultsDir)) {
    const name = path.relative(resultsDir, file).replace(/\.tap$/, '');
    const points: Result[] = [];
    let fileOk = true;
    const parser = new Parser((final) => {
      fileOk = final.ok;
    });
    parser.on('assert', (r: Result) => points.push(r));
    parser.end(readFileSync(file, 'utf8'));
    let failedHere = 0;
    for (const r of points) {
      if (r.skip || r.todo) counts.skipped++;
      else if (r.ok) counts.passed++;
      else {
        failedHere++;
        counts.failures.push(`${name}: ${r.name}`);
      }
    }
    if (!fileOk && failedHere === 0) {
      failedHere = 1;
      counts.failures.push(`${name}: the file failed outside its tests (crash, plan or timeout)`);
    }
    counts.failed += failedHere;
  }
  return counts;
}

export const summaryLine = (c: Counts): string =>
  `${c.passed} passed, ${c.failed} failed${c.skipped ? `, ${c.skipped} skipped` : ''}`;
