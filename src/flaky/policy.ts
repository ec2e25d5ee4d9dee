import type { FlakyConfig } from '../config/project.js';
import { BAIL_OUT, OUTSIDE_TESTS } from '../results/model.js';
import type { History, TestKey, TestStats } from './history.js';

/**
 * What a test's recent runs say of it. `broken` failed every run, passing on no retry: a bug
 * to fix, never quarantined (that would hide it). `quarantine`: failed in more than
 * quarantineRate of at least minRuns runs, and passed in some.
 */
export type Verdict = 'ok' | 'flaky' | 'quarantine' | 'broken';

export const failureRate = (s: TestStats) => (s.runs === 0 ? 0 : (s.failing / s.runs) * 100);

export function verdict(s: TestStats, c: FlakyConfig): Verdict {
  if (s.failing === 0) return 'ok';
  if (s.failing - s.flaky === s.runs) return 'broken';
  const rate = failureRate(s);
  if (s.runs >= c.minRuns && rate > c.quarantineRate) return 'quarantine';
  return rate > c.flakyRate ? 'flaky' : 'ok';
}

export const keyOf = (k: TestKey) => `${k.file}\0${k.test}`;

/** A crash of a whole file, or tap's bail-out, hides the tests behind it: never set apart. */
export const quarantinable = (k: TestKey) => k.test !== OUTSIDE_TESTS && k.file !== BAIL_OUT;

/** Sets apart every test whose recent runs call for it; returns those newly quarantined. */
export function quarantineByThreshold(h: History, c: FlakyConfig): (TestKey & { reason: string })[] {
  const already = new Set(h.quarantined().map(keyOf));
  const added: (TestKey & { reason: string })[] = [];
  for (const s of h.stats(c.window)) {
    if (already.has(keyOf(s)) || !quarantinable(s) || verdict(s, c) !== 'quarantine') continue;
    const reason = `failed in ${s.failing} of its last ${s.runs} runs (${failureRate(s).toFixed(0)}%, over ${c.quarantineRate}%)`;
    h.quarantine(s, reason);
    added.push({ file: s.file, test: s.test, reason });
  }
  return added;
}
