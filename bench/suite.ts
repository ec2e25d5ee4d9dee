/**
 * Suite wall time by test set and number of tap jobs, for docs/performance.md: each run is
 * `realstack test --set S --jobs N` exactly as a user types it (a fresh stack, the tests, down).
 *
 *   node dist/bench/suite.js [--sets all,parallel-safe] [--jobs 1,2] [--engine process]
 *
 * The closing line of each run is kept, and its failures named, so that a faster run that
 * fails more is visible as such.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const root = fileURLToPath(new URL('../..', import.meta.url));
const { values } = parseArgs({
  options: {
    sets: { type: 'string', default: 'all,parallel-safe' },
    jobs: { type: 'string', default: '1,2' },
    engine: { type: 'string', default: 'process' },
  },
});

const rows: { set: string; jobs: number; seconds: number; verdict: string }[] = [];
for (const set of values.sets.split(',')) {
  for (const jobs of values.jobs.split(',').map(Number)) {
    const start = performance.now();
    const res = spawnSync(
      process.execPath,
      ['bin/realstack.js', 'test', '--set', set, '--jobs', String(jobs)],
      {
        cwd: root,
        env: { ...process.env, REALSTACK_ENGINE: values.engine, REALSTACK_RUN_ID: `benchsuite${jobs}` },
        stdio: ['ignore', 'pipe', 'ignore'],
        maxBuffer: 256 * 1024 * 1024,
      },
    );
    const seconds = (performance.now() - start) / 1000;
    const verdict = res.stdout.toString().trim().split('\n').at(-1) ?? '';
    rows.push({ set, jobs, seconds, verdict });
    const last = JSON.parse(readFileSync(`${root}/.realstack/last-run.json`, 'utf8')) as {
      failures: string[];
    };
    process.stderr.write(`${set}, jobs ${jobs}: ${seconds.toFixed(1)} s (${verdict})\n`);
    for (const f of last.failures) process.stderr.write(`  not ok: ${f}\n`);
  }
}

console.log('| set | tap jobs | wall time | speed-up | closing line |\n|---|---|---|---|---|');
for (const r of rows) {
  const base = rows.find((b) => b.set === r.set && b.jobs === 1)?.seconds;
  const speedUp = base ? `${(base / r.seconds).toFixed(2)}×` : '-';
  console.log(`| ${r.set} | ${r.jobs} | ${r.seconds.toFixed(0)} s | ${speedUp} | ${r.verdict} |`);
}
