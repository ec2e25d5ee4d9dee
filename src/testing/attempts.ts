import { existsSync } from 'node:fs';
import path from 'node:path';
import { BAIL_OUT, type FileCounts, OUTSIDE_TESTS, type TestResult } from '../results/model.js';

/** Files with a test that failed in every attempt so far: what a retry runs again. */
export const failingFiles = (files: FileCounts[]): string[] =>
  files.filter((f) => f.file !== BAIL_OUT && f.tests.some((t) => t.status === 'failed')).map((f) => f.file);

/** The run's tap arguments with its files (named or the set's) replaced by these. */
export function retryArgs(tapArgs: string[], projectDir: string, files: string[]): string[] {
  const isPath = (a: string) => !a.startsWith('-') && existsSync(path.resolve(projectDir, a));
  return [...tapArgs.filter((a) => !isPath(a)), ...files];
}

function mergeTest(before: TestResult, again: TestResult): TestResult {
  if (again.status === 'skipped') return before;
  const failures = [...before.failures, ...again.failures];
  const passed = before.status === 'passed' || before.status === 'flaky' || again.status === 'passed';
  return {
    ...again,
    attempts: before.attempts + 1,
    failures,
    status: failures.length > 0 && passed ? 'flaky' : again.status,
  };
}

/**
 * A retry's results folded into the run's: a test that failed in one attempt and passed in
 * another is flaky; one that failed in every attempt it ran, failed. A file that crashed and then
 * ran through has its crash counted flaky. Tests the retry did not reach keep what they had.
 */
export function mergeAttempt(before: FileCounts[], again: FileCounts[]): FileCounts[] {
  return before.map((f) => {
    const g = again.find((x) => x.file === f.file);
    if (!g) return f;
    const tests = g.tests.map((t) => {
      const earlier = f.tests.find((x) => x.name === t.name);
      return earlier ? mergeTest(earlier, t) : t;
    });
    for (const earlier of f.tests) {
      if (tests.some((t) => t.name === earlier.name)) continue;
      const ranThrough = earlier.name === OUTSIDE_TESTS && !g.tests.some((t) => t.name === OUTSIDE_TESTS);
      tests.push(ranThrough ? { ...earlier, status: 'flaky', attempts: earlier.attempts + 1 } : earlier);
    }
    return { ...g, tests };
  });
}
