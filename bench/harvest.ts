/**
 * Harvest speed and memory: realstack's pipeline against `c8 report` and `c8 report
 * --merge-async` on the same raw dumps, all three writing the same reports (html, lcov, json,
 * json-summary, cobertura, text). Each run is a fresh process under GNU time (wall time, peak
 * RSS); medians of --runs.
 *
 *   node dist/bench/harvest.js [--dumps 200] [--runs 3] [--suite coverage/raw] [--keep]
 *
 * Two sets of dumps: the test suite's, as the last `just test-sidecar-coverage` harvested them
 * (--suite; skipped when absent), and a real service's snapshots (below). For c8 the dumps'
 * container paths are rewritten to the repository's; realstack remaps them itself.
 *
 * The dumps come from a real service: the api under the spy, one request and one snapshot
 * (SIGUSR2) at a time, --dumps times, on a process-engine stack it starts and takes down.
 * Process-engine dumps name host paths already, so c8 reads them as they are.
 */
import { spawn, spawnSync } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { request } from 'undici';
import { freePort } from '../src/util/net.js';
import { median } from './measure.js';
import { apiEnvironment, waitUntilUp, withStack } from './stack.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const { values } = parseArgs({
  options: {
    dumps: { type: 'string', default: '200' },
    runs: { type: 'string', default: '3' },
    suite: { type: 'string', default: path.join(root, 'coverage', 'raw') },
    // Leave the dumps (and reports) for profiling: `node --cpu-prof dist/bench/harvest-ours.js DIR/api`.
    keep: { type: 'boolean' },
  },
});
const dumps = Number(values.dumps);
const runs = Number(values.runs);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The api under the spy; `dumps` snapshots, each after one request; then a graceful stop. */
async function makeDumps(urls: Record<string, string>, dir: string): Promise<void> {
  const port = await freePort();
  const child = spawn(process.execPath, ['--enable-source-maps', 'dist/services/api/src/main.js'], {
    cwd: root,
    env: {
      ...apiEnvironment(urls),
      PORT: String(port),
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
  await waitUntilUp(`http://127.0.0.1:${port}/health`, child);
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

const c8 = path.join(root, 'node_modules', 'c8', 'bin', 'c8.js');
// The same reports as realstack's, and without the spy's own file, which realstack leaves out.
const reporters = [
  ...['html', 'lcovonly', 'json', 'json-summary', 'cobertura', 'text'].flatMap((r) => ['--reporter', r]),
  ...['--exclude', 'coverage-spy/**'],
];

/**
 * Times the three pipelines on one set of dumps: `oursDir/raw/<instance>/` for realstack, and
 * the same dumps flat in `flat/` for c8, whose paths must already be the repository's.
 */
function compare(title: string, oursDir: string, flat: string): string {
  const variants: [string, string[], string][] = [
    [
      'realstack (remap, then c8 per service)',
      [process.execPath, 'dist/bench/harvest-ours.js', oursDir],
      path.join(oursDir, 'all'),
    ],
    [
      '`c8 report`',
      [process.execPath, c8, 'report', '--temp-directory', flat, '--reports-dir', `${flat}-c8`, ...reporters],
      `${flat}-c8`,
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
        `${flat}-c8a`,
        ...reporters,
      ],
      `${flat}-c8a`,
    ],
  ];
  const results = variants.map(([, args]) => {
    const samples = Array.from({ length: runs }, () => timed(args));
    return {
      seconds: median(samples.map((x) => x.seconds)),
      maxRssMb: median(samples.map((x) => x.maxRssMb)),
    };
  });
  const ours = results[0] as Sample;
  // The same answer, or the timing means nothing: lines covered / total from each json-summary.
  const rows = variants.map(([name, , reports], i) => {
    const r = results[i] as Sample;
    const total = JSON.parse(readFileSync(path.join(reports, 'coverage-summary.json'), 'utf8')).total.lines;
    const ratio = (r.seconds / ours.seconds).toFixed(2);
    return `| ${name} | ${r.seconds.toFixed(2)} s | ${Math.round(r.maxRssMb)} MB | ${ratio} | ${total.covered}/${total.total} |`;
  });
  const bytes = readdirSync(flat).reduce((n, f) => n + statSync(path.join(flat, f)).size, 0);
  return (
    `${title}: ${readdirSync(flat).length} dumps, ${(bytes / 1024 / 1024).toFixed(0)} MB, medians of ${runs} runs\n\n` +
    '| pipeline | wall time | peak RSS | time / realstack | lines covered |\n|---|---|---|---|---|\n' +
    `${rows.join('\n')}\n\n`
  );
}

/** Copies dumps for c8 with container paths rewritten to the repository's (`file:///app/`). */
function flatForC8(rawDir: string, flat: string): void {
  mkdirSync(flat, { recursive: true });
  for (const instance of readdirSync(rawDir, { withFileTypes: true }).filter((e) => e.isDirectory())) {
    const dir = path.join(rawDir, instance.name);
    for (const f of readdirSync(dir).filter((x) => x.startsWith('coverage-'))) {
      const text = readFileSync(path.join(dir, f), 'utf8').replaceAll(
        'file:///app/',
        `file://${root.replace(/\/$/, '')}/`,
      );
      writeFileSync(path.join(flat, `${instance.name}-${f}`), text);
    }
  }
}

const work = mkdtempSync(path.join(os.tmpdir(), 'realstack-harvest-bench-'));
let out = '';
try {
  if (existsSync(values.suite as string)) {
    cpSync(values.suite as string, path.join(work, 'suite', 'raw'), { recursive: true });
    flatForC8(path.join(work, 'suite', 'raw'), path.join(work, 'suite-flat'));
    out += compare(
      `the test suite's dumps (${path.relative(root, values.suite as string)})`,
      path.join(work, 'suite'),
      path.join(work, 'suite-flat'),
    );
  }
  const raw = path.join(work, 'api', 'raw', 'api-1');
  mkdirSync(raw, { recursive: true });
  await withStack((urls) => makeDumps(urls, raw));
  flatForC8(path.join(work, 'api', 'raw'), path.join(work, 'api-flat'));
  out += compare(`${dumps} snapshots of the api`, path.join(work, 'api'), path.join(work, 'api-flat'));
  process.stdout.write(out);
} finally {
  if (values.keep) process.stderr.write(`dumps and reports kept in ${work}\n`);
  else rmSync(work, { recursive: true, force: true });
}
