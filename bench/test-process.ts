/**
 * What a tap test process of this suite costs with tap's typescript plugin (ts-node and
 * TypeScript) and with the suite's own loader (scripts/tap-typescript, sucrase), its cache of
 * stripped files empty and filled, for docs/performance.md. Each file runs as tap's runner
 * starts it (the same `--import`s, TAP=1), the loaders in turn, N rounds. The figures are the process's CPU time (user and system, its
 * loader thread's too) and wall time: medians per file, summed over the files.
 *
 *   node dist/bench/test-process.js [--runs N] [FILE...]
 *
 * The default files need no stack: each runs its tests, which cost the same under both loaders.
 */
import { spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { packageRoot } from '../src/util/package-root.js';
import { median } from './measure.js';

const root = packageRoot();

const { values, positionals } = parseArgs({
  options: { runs: { type: 'string', default: '5' } },
  allowPositionals: true,
});
const files = positionals.length
  ? positionals
  : ['compose', 'dockerfile', 'impact-blocks', 'log-lines', 'remap', 'process-env', 'production-modules'].map(
      (name) => `tests/${name}.test.ts`,
    );

const tapImport = (specifier: string) => `--import=${import.meta.resolve(specifier)}`;
// The process reports its own usage as it exits: every thread's CPU, which `time` would give.
const onExit =
  "process.on('exit', () => { const u = process.resourceUsage(); process.stderr.write('\\ncpu-us ' + (u.userCPUTime + u.systemCPUTime) + '\\n'); })";
const report = `--import=data:text/javascript,${encodeURIComponent(onExit)}`;
const sucrase = { args: ['--import=./scripts/tap-typescript/register.mjs'], env: {} };
const emptyCache = () =>
  rmSync(path.join(root, 'node_modules', '.cache', 'tap-typescript'), { recursive: true, force: true });

interface Loader {
  args: string[];
  env: Record<string, string>;
  /** Done before each run, untimed. */
  before?: () => void;
}
// In this order each round: the filled cache's run follows the run that filled it.
const loaders: Record<string, Loader> = {
  'ts-node (tap typescript plugin)': {
    args: [tapImport('@tapjs/typescript/import')],
    // What the plugin sets in tap's runner on Node 20 for every test process.
    env: {
      TAP_TYPE_STRIP_ONLY: '0',
      TS_NODE_TRANSPILE_ONLY: '1',
      TS_NODE_PROJECT: path.join(root, 'tsconfig.json'),
    },
  },
  'sucrase, its cache empty (scripts/tap-typescript)': { ...sucrase, before: emptyCache },
  'sucrase, its cache filled': sucrase,
};

function once(file: string, loader: Loader) {
  loader.before?.();
  const start = performance.now();
  const res = spawnSync(
    process.execPath,
    [
      report,
      ...loader.args,
      tapImport('@tapjs/mock/import'),
      '--enable-source-maps',
      tapImport('@tapjs/processinfo/import'),
      file,
    ],
    { cwd: root, env: { ...process.env, ...loader.env, TAP: '1' }, encoding: 'utf8' },
  );
  const wall = performance.now() - start;
  const cpu = Number(/cpu-us (\d+)/.exec(res.stderr)?.[1]);
  if (res.status !== 0 || !cpu)
    throw new Error(`${file} failed (exit ${res.status}):\n${res.stdout}${res.stderr}`);
  return { wall, cpu: cpu / 1000 };
}

const names = Object.keys(loaders);
const sums = Object.fromEntries(names.map((n) => [n, { wall: 0, cpu: 0 }]));
for (const file of files) {
  const runs = Object.fromEntries(names.map((n) => [n, { wall: [] as number[], cpu: [] as number[] }]));
  for (let i = 0; i < Number(values.runs); i++)
    for (const name of names) {
      const { wall, cpu } = once(file, loaders[name] as Loader);
      runs[name]?.wall.push(wall);
      runs[name]?.cpu.push(cpu);
    }
  for (const name of names) {
    const sum = sums[name] as { wall: number; cpu: number };
    sum.wall += median(runs[name]?.wall ?? []) ?? 0;
    sum.cpu += median(runs[name]?.cpu ?? []) ?? 0;
  }
}
process.stdout.write(
  `| loader (${files.length} files, medians of ${values.runs}) | CPU | wall | CPU per file |\n| --- | --- | --- | --- |\n`,
);
for (const name of names) {
  const { wall, cpu } = sums[name] as { wall: number; cpu: number };
  process.stdout.write(
    `| ${name} | ${(cpu / 1000).toFixed(2)} s | ${(wall / 1000).toFixed(2)} s | ${(cpu / 1000 / files.length).toFixed(2)} s |\n`,
  );
}
