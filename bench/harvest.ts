/**
 * Harvest speed and memory: realstack's pipeline against `c8 report` and `c8 report
 * --merge-async` on the same raw dumps, all three writing the same reports (html, lcov, json,
 * json-summary, cobertura, text). Each run is a fresh process under GNU time (wall time, peak
 * RSS); medians of --runs.
 *
 *   node dist/bench/harvest.js [--dumps 200] [--runs 3]
 *
 * The dumps come from a real service: the api under the spy, one request and one snapshot
 * (SIGUSR2) at a time, --dumps times, on a process-engine stack it starts and takes down.
 * Process-engine dumps name host paths already, so c8 reads them as they are.
 */
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { execa } from 'execa';
import { request } from 'undici';
import { freePort } from '../src/util/net.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const { values } = parseArgs({
  options: { dumps: { type: 'string', default: '200' }, runs: { type: 'string', default: '3' } },
});
const dumps = Number(values.dumps);
const runs = Number(values.runs);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The api under the spy; `dumps` snapshots, each after one request; then a graceful stop. */
async function makeDumps(database: string, dir: string): Promise<void> {
  const port = await freePort();
  const child = spawn(process.execPath, ['--enable-source-maps', 'dist/services/api/src/main.js'], {
    cwd: root,
    env: {
      PATH: process.env.PATH ?? '',
      DATABASE_URL: database,
      PORT: String(port),
      HOST: '127.0.0.1',
      LOG_LEVEL: 'warn',
      ENV_FILE: '/nonexistent',
      REALSTACK_SERVICE: 'api',
      REALSTACK_SOURCE_ROOT: root,
      NODE_OPTIONS: `--require ${path.join(root, 'coverage-spy', 'index.cjs')}`,
      NODE_V8_COVERAGE: dir,
    },
    stdio: 'ignore',
  });
  const hit = () =>
    request(`http://127.0.0.1:${port}/health`).then(
      async (r) => {
        await r.body.dump();
        return r.statusCode;
      },
      () => 0,
    );
  while ((await hit()) !== 200) await sleep(50);
  const count = () => readdirSync(dir).filter((f) => f.startsWith('coverage-')).length;
  for (let i = 1; i < dumps; i++) {
    await hit();
    child.kill('SIGUSR2');
    while (count() < i) await sleep(5);
  }
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await exited;
}

interface Sample {
  seconds: number;
  maxRssMb: number;
}

function timed(args: string[]): Sample {
  const res = spawnSync('/usr/bin/time', ['-f', '%e %M', ...args], { cwd: root, encoding: 'utf8' });
  if (res.status !== 0) throw new Error(`${args.join(' ')} failed:\n${res.stderr}`);
  const [seconds, kb] = (res.stderr.trim().split('\n').at(-1) as string).split(' ').map(Number) as [
    number,
    number,
  ];
  return { seconds, maxRssMb: kb / 1024 };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
const c8 = path.join(root, 'node_modules', 'c8', 'bin', 'c8.js');
// The same reports as realstack's, and without the spy's own file, which realstack leaves out.
const reporters = [
  ...['html', 'lcov', 'json', 'json-summary', 'cobertura', 'text'].flatMap((r) => ['--reporter', r]),
  ...['--exclude', 'coverage-spy/**'],
];

const runId = `benchharvest${randomBytes(3).toString('hex')}`;
const stackEnv = { ...process.env, REALSTACK_ENGINE: 'process', REALSTACK_RUN_ID: runId };
const work = mkdtempSync(path.join(os.tmpdir(), 'realstack-harvest-bench-'));
await execa(process.execPath, ['bin/realstack.js', 'up'], { cwd: root, env: stackEnv });
try {
  const ps = JSON.parse(
    (await execa(process.execPath, ['bin/realstack.js', 'ps', '--json'], { cwd: root, env: stackEnv }))
      .stdout,
  );
  const raw = path.join(work, 'ours', 'raw', 'api-1');
  mkdirSync(raw, { recursive: true });
  await makeDumps(ps.services.find((s: { name: string }) => s.name === 'postgres').url, raw);
  const flat = path.join(work, 'c8-input');
  mkdirSync(flat);
  let bytes = 0;
  for (const f of readdirSync(raw).filter((x) => x.startsWith('coverage-'))) {
    copyFileSync(path.join(raw, f), path.join(flat, f));
    bytes += statSync(path.join(raw, f)).size;
  }
  const variants: [string, string[]][] = [
    [
      'realstack (remap, then c8 per service)',
      [process.execPath, 'dist/bench/harvest-ours.js', path.join(work, 'ours')],
    ],
    [
      '`c8 report`',
      [
        process.execPath,
        c8,
        'report',
        '--temp-directory',
        flat,
        '--reports-dir',
        path.join(work, 'c8'),
        ...reporters,
      ],
    ],
    [
      '`c8 report --merge-async`',
      [
        process.execPath,
        c8,
        'report',
        '--merge-async',
        '--temp-directory',
        flat,
        '--reports-dir',
        path.join(work, 'c8a'),
        ...reporters,
      ],
    ],
  ];
  const rows: string[] = [];
  const results: Record<string, Sample> = {};
  for (const [name, args] of variants) {
    const samples = Array.from({ length: runs }, () => timed(args));
    results[name] = {
      seconds: median(samples.map((s) => s.seconds)),
      maxRssMb: median(samples.map((s) => s.maxRssMb)),
    };
  }
  const ours = results[variants[0]?.[0] as string] as Sample;
  // The same answer, or the timing means nothing: lines covered / total from each json-summary.
  const summaries = [path.join(work, 'ours', 'all'), path.join(work, 'c8'), path.join(work, 'c8a')].map(
    (dir) => {
      const total = JSON.parse(readFileSync(path.join(dir, 'coverage-summary.json'), 'utf8')).total.lines;
      return `${total.covered}/${total.total}`;
    },
  );
  variants.forEach(([name], i) => {
    const r = results[name] as Sample;
    const ratio = (r.seconds / ours.seconds).toFixed(2);
    rows.push(
      `| ${name} | ${r.seconds.toFixed(2)} s | ${Math.round(r.maxRssMb)} MB | ${ratio} | ${summaries[i]} |`,
    );
  });
  process.stdout.write(
    `${dumps} dumps of the api, ${(bytes / 1024 / 1024).toFixed(0)} MB, medians of ${runs} runs\n\n` +
      '| pipeline | wall time | peak RSS | time / realstack | lines covered |\n|---|---|---|---|---|\n' +
      `${rows.join('\n')}\n`,
  );
} finally {
  await execa(process.execPath, ['bin/realstack.js', 'down'], { cwd: root, env: stackEnv });
  rmSync(work, { recursive: true, force: true });
}
