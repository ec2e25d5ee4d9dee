/**
 * What the flaky-test history costs a run: adding one run's results (every test of a suite) to
 * .realstack/history.sqlite, read and written whole through sql.js under its lock, and reading
 * the flakiness report, at histories of growing size. No stack: the history alone.
 *
 *   node dist/bench/history.js [--tests 200] [--rounds 5]
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { FLAKY_DEFAULTS } from '../src/config/project.js';
import { History } from '../src/flaky/history.js';
import { quarantineByThreshold } from '../src/flaky/policy.js';
import { type Counts, tally } from '../src/results/model.js';
import { loadOptions, median } from './measure.js';

const { tests, rounds } = loadOptions({ tests: 200 });
const dir = mkdtempSync(path.join(os.tmpdir(), 'realstack-bench-history-'));
process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
const file = path.join(dir, 'history.sqlite');

/** A run of `tests` tests in 20 files; every 50th test fails on its first attempt. */
function run(n: number): Counts {
  const files = Array.from({ length: 20 }, (_, f) => ({
    file: `test/file-${f}.test.js`,
    ms: 1000,
    endedAt: Date.now(),
    tests: Array.from({ length: tests / 20 }, (_, i) => {
      const flaky = (f * 20 + i + n) % 50 === 0;
      return {
        name: `test ${i} of file ${f}`,
        status: flaky ? ('flaky' as const) : ('passed' as const),
        ms: 10,
        attempts: flaky ? 2 : 1,
        failures: flaky ? ['expected 200, got 503 (test/file.test.js:12)'] : [],
        ...(flaky ? { failureClass: 'test' as const } : {}),
      };
    }),
  }));
  return tally(files);
}

let added = 0;
const grow = async (to: number) => {
  for (; added < to; added++)
    await History.change(file, (h) =>
      h.addRun({ runId: `r${added}`, kind: 'test', engine: 'process', commit: undefined }, run(added)),
    );
};

console.log(`history of runs of ${tests} tests (20 files), medians of ${rounds}:`);
console.log('runs before  add a run (read, insert, quarantine check, write)  flakiness report  file size');
for (const size of [0, 100, 250, 500]) {
  await grow(size);
  const adds: number[] = [];
  const reports: number[] = [];
  for (let i = 0; i < rounds; i++) {
    let start = performance.now();
    await History.change(file, (h) => {
      h.addRun({ runId: `r${added}`, kind: 'test', engine: 'process', commit: undefined }, run(added));
      quarantineByThreshold(h, FLAKY_DEFAULTS);
    });
    added++;
    adds.push(performance.now() - start);
    start = performance.now();
    const h = await History.read(file);
    h.stats(FLAKY_DEFAULTS.window);
    h.close();
    reports.push(performance.now() - start);
  }
  console.log(
    `${String(size).padStart(11)}  ${median(adds).toFixed(0).padStart(6)} ms${' '.repeat(52)}${median(reports).toFixed(0).padStart(6)} ms  ${(statSync(file).size / 1024 / 1024).toFixed(1)} MiB`,
  );
}
