/**
 * How steady `realstack perf`'s figures are, and why `--against` gates on ratios: the same code
 * measured several times in a row, as absolute figures (what a baseline gate compares) and as
 * ratios to HEAD's own stack measured beside it (what `--against` compares). With no change
 * between the two, every ratio should be 1; how far they stray is the noise a gate must allow.
 *
 *   node dist/bench/perf-noise.js [--runs 3] [--rounds 3]    (this repository, process engine)
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadOptions } from './measure.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const { runs, rounds } = loadOptions({ runs: 3 });
interface Outcome {
  profiles: {
    profile: string;
    median: Record<string, number>;
    checks: { figure: string; worse: number }[];
  }[];
}

function perf(args: string[]): Outcome {
  const res = spawnSync(process.execPath, ['bin/realstack.js', 'perf', '--rounds', String(rounds), ...args], {
    cwd: root,
    encoding: 'utf8',
    env: { ...process.env, REALSTACK_ENGINE: 'process', NODE_OPTIONS: '' },
  });
  if (res.status !== 0 && res.status !== 1)
    throw new Error(`realstack perf failed:\n${res.stderr.slice(-2000)}`);
  return JSON.parse(readFileSync(path.join(root, 'test-results', 'perf.json'), 'utf8')) as Outcome;
}

const spread = (xs: number[]) =>
  ((Math.max(...xs) - Math.min(...xs)) / (xs.reduce((a, b) => a + b, 0) / xs.length)) * 100;
const absolute: Outcome[] = [];
const ratios: Outcome[] = [];
for (let i = 0; i < runs; i++) {
  absolute.push(perf([]));
  ratios.push(perf(['--against', 'HEAD']));
}
console.log(`${runs} runs of ${rounds} rounds each, this checkout, process engine`);
console.log(
  'profile            figure  absolute medians per run          spread   ratio to HEAD per run   worst',
);
for (const { profile } of absolute[0]?.profiles ?? []) {
  for (const figure of ['p50', 'p95', 'p99', 'rps']) {
    const abs = absolute.map((o) => o.profiles.find((p) => p.profile === profile)?.median[figure] as number);
    // worse is the ratio's distance from 1 in percent (for rps, a loss): back to a ratio.
    const rat = ratios.map((o) => {
      const w =
        o.profiles.find((p) => p.profile === profile)?.checks.find((c) => c.figure === figure)?.worse ?? 0;
      return figure === 'rps' ? 1 - w / 100 : 1 + w / 100;
    });
    console.log(
      `${profile.padEnd(18)} ${figure.padEnd(6)}  ${abs
        .map((v) => v.toFixed(figure === 'rps' ? 0 : 2))
        .join(' / ')
        .padEnd(32)}  ${spread(abs).toFixed(0).padStart(4)}%   ${rat
        .map((v) => v.toFixed(2))
        .join(' / ')
        .padEnd(22)}  ${(Math.max(...rat.map((r) => Math.abs(r - 1))) * 100).toFixed(0)}%`,
    );
  }
}
