/**
 * Full-suite wall time by number of tap jobs, for docs/performance.md: each run is
 * `realstack test --jobs N` exactly as a user types it (a fresh stack, the whole suite, down).
 *
 *   node dist/bench/suite.js [--jobs 1,2,4] [--engine process]
 *
 * The closing line of each run is kept, so a faster run that fails more is visible as such.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const root = fileURLToPath(new URL('../..', import.meta.url));
const { values } = parseArgs({
  options: { jobs: { type: 'string', default: '1,2,4' }, engine: { type: 'string', default: 'process' } },
});

const rows: { jobs: number; seconds: number; verdict: string }[] = [];
for (const jobs of values.jobs.split(',').map(Number)) {
  const start = performance.now();
  const res = spawnSync(process.execPath, ['bin/realstack.js', 'test', `--jobs=${jobs}`], {
    cwd: root,
    env: { ...process.env, REALSTACK_ENGINE: values.engine, REALSTACK_RUN_ID: `benchsuite${jobs}` },
    stdio: ['ignore', 'pipe', 'ignore'],
    maxBuffer: 256 * 1024 * 1024,
  });
  const seconds = (performance.now() - start) / 1000;
  const verdict = res.stdout.toString().trim().split('\n').at(-1) ?? '';
  rows.push({ jobs, seconds, verdict });
  process.stderr.write(`jobs ${jobs}: ${seconds.toFixed(1)} s (${verdict})\n`);
}

const base = rows.find((r) => r.jobs === 1)?.seconds;
console.log(`| tap jobs | wall time | speed-up | closing line |\n|---|---|---|---|`);
for (const r of rows) {
  const speedUp = base ? `${(base / r.seconds).toFixed(2)}×` : '-';
  console.log(`| ${r.jobs} | ${r.seconds.toFixed(0)} s | ${speedUp} | ${r.verdict} |`);
}
