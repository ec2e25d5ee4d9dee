// A run's results as the closing line, JUnit, the flaky-test history and the gates read them:
// per test file, each top-level test with its status over the run's attempts.

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

/** The "file" of what failed outside every file: tap's bail-out, or tap failing by itself. */
export const BAIL_OUT = '(tap)';

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
