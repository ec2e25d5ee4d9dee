import { createHash, randomBytes } from 'node:crypto';

/**
 * How test data is named, so that `realstack cleanup` finds what a test left behind: every name
 * starts with TEST. The long form says whose it is (`TEST <run id> w<worker> <label>`); the short
 * form fits columns of 16 characters (`TEST` + 4 of the run + 4 of the test process + a count).
 */
export const TEST_PREFIX = 'TEST';

const base36 = (bytes: Buffer, length: number) =>
  BigInt(`0x${bytes.toString('hex')}`)
    .toString(36)
    .padStart(length, '0')
    .slice(-length);

/** The 4 characters of a run id that its short names start with. */
export const runKey = (runId: string): string =>
  base36(createHash('sha256').update(runId).digest().subarray(0, 4), 4);

const processKey = base36(randomBytes(4), 4);
let count = 0;

export function longTestName(runId: string, worker: string, label: string): string {
  return `${TEST_PREFIX} ${runId} w${worker} ${label}`;
}

/** 16 characters, unique per run and test process: `TEST` + run + process + a count in base 36. */
export function shortTestName(runId: string): string {
  count++;
  return `${TEST_PREFIX}${runKey(runId)}${processKey}${count.toString(36).padStart(4, '0').slice(-4)}`;
}

/** A PostgreSQL regular expression for the test names of one run, or of every run. */
export function testNamePattern(runId?: string): string {
  if (!runId) return `^${TEST_PREFIX}([ _]|[0-9a-z]{12}$)`;
  const id = runId.replace(/[^A-Za-z0-9_-]/g, '');
  return `^${TEST_PREFIX}([ _]${id}[ _]|${runKey(runId)}[0-9a-z]{8}$)`;
}
