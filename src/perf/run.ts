import path from 'node:path';
import { parseArgs } from 'node:util';
import { execa } from 'execa';
import type { PerfConfig, PerfProfile, ProjectConfig } from '../config/project.js';
import type { ToolkitConfig } from '../config/toolkit.js';
import type { Engine } from '../engine/types.js';
import { UserError } from '../errors.js';
import type { Log } from '../log.js';
import { ensureSecrets } from '../secrets.js';
import { resultsFile } from '../testing/results.js';
import { withStack } from '../testing/run-tests.js';
import { testEnv } from '../testing/test-env.js';
import { writeFileWhole } from '../util/files.js';
import { headCommit } from '../util/git.js';
import { withStackAt } from './against.js';
import {
  type Check,
  compare,
  FIGURES,
  readBaseline,
  type Summary,
  summarize,
  writeBaseline,
} from './baseline.js';
import { type Figures, runLoad } from './load.js';

/** A stack the profiles run against: its services' URLs and, when a profile needs one, a token. */
interface Target {
  label: string;
  urls: Map<string, string>;
  token: string | undefined;
}

/**
 * The profiles and their token command are this checkout's, for both stacks alike; the command
 * runs with the stack's own URLs and secrets (`env`), from this project's folder.
 */
async function target(
  label: string,
  engine: Engine,
  env: NodeJS.ProcessEnv,
  project: ProjectConfig,
  commandDir: string,
): Promise<Target> {
  const instances = await engine.instances();
  const urls = new Map(
    engine.stack.services.flatMap((s) => {
      const url = instances.find((i) => i.service === s.name && i.url?.startsWith('http'))?.url;
      return url ? [[s.name, url] as const] : [];
    }),
  );
  const needed = Object.values(project.perf.profiles).some((p) => p.auth);
  return {
    label,
    urls,
    token: needed ? await stackToken(engine, env, project, commandDir, label) : undefined,
  };
}

/** perf.token's bearer token for a stack: the command run with the stack's URLs and secrets. */
export async function stackToken(
  engine: Engine,
  env: NodeJS.ProcessEnv,
  project: ProjectConfig,
  commandDir: string,
  label = 'current',
): Promise<string> {
  const command = project.perf.token;
  if (!command)
    throw new UserError(
      'a request needs a bearer token: give realstack.json perf.token, a command that prints one.',
    );
  const [cmd, ...args] = command as [string, ...string[]];
  const res = await execa(cmd, args, {
    cwd: commandDir,
    env: { ...env, ...testEnv(engine, await engine.instances(), project, env) },
    reject: false,
    all: true,
    timeout: 120_000,
  });
  const token = res.stdout.trim().split('\n').at(-1)?.trim();
  if (res.exitCode !== 0 || !token)
    throw new UserError(
      `perf.token (${command.join(' ')}) ${res.exitCode !== 0 ? `exited ${res.exitCode}` : 'printed no token'} on the ${label} stack:\n${String(res.all).slice(-1500)}`,
    );
  return token;
}

/** Every profile on every target, round after round; the targets alternate who goes first. */
async function measure(
  targets: Target[],
  profiles: [string, PerfProfile][],
  rounds: number,
  log: Log,
): Promise<Map<string, Figures[][]>> {
  const results = new Map(profiles.map(([name]) => [name, targets.map(() => [] as Figures[])]));
  const url = (t: Target, name: string, p: PerfProfile) => {
    const u = t.urls.get(p.service);
    if (!u)
      throw new UserError(
        `perf profile "${name}" loads service "${p.service}", which has no HTTP URL on the ${t.label} stack; the services with one are ${[...t.urls.keys()].join(', ')}.`,
      );
    return u;
  };
  // A warm-up per profile and stack, not measured: connection pools, JIT, caches.
  for (const [name, p] of profiles)
    for (const t of targets)
      await runLoad(url(t, name, p), p, t.token, { requests: Math.min(200, p.requests ?? 200) });
  for (let round = 1; round <= rounds; round++) {
    const order = round % 2 === 1 ? targets : [...targets].reverse();
    for (const [name, p] of profiles)
      for (const t of order) {
        const f = await runLoad(url(t, name, p), p, t.token);
        (results.get(name) as Figures[][])[targets.indexOf(t)]?.push(f);
        log(
          `  round ${round}/${rounds} ${name}${targets.length > 1 ? ` (${t.label})` : ''}: p50 ${f.p50.toFixed(2)} ms, p95 ${f.p95.toFixed(2)} ms, p99 ${f.p99.toFixed(2)} ms, ${f.rps.toFixed(0)} req/s${f.failed ? `, ${f.failed} of ${f.requests} failed (${f.sample})` : ''}`,
        );
      }
  }
  return results;
}

/**
 * With --against: each round's ratio of this checkout to the other commit, and the gate on the
 * ratios' median; the spread is the ratios' (how steady the comparison was), not the figures'.
 */
function compareRounds(now: Figures[], then: Figures[], thresholds: PerfConfig['thresholds']) {
  const ratios = now.map((r, i) => {
    const other = then[i] as Figures;
    return { ...r, ...Object.fromEntries(FIGURES.map((f) => [f, r[f] / other[f]])) } as Figures;
  });
  const { median: ratio, spread } = summarize(ratios);
  const one = Object.fromEntries(FIGURES.map((f) => [f, 1])) as Summary;
  const a = summarize(now).median;
  const b = summarize(then).median;
  const checks = compare(ratio, one, thresholds).map((c) => ({
    ...c,
    now: a[c.figure],
    before: b[c.figure],
  }));
  return { checks, spread };
}

export interface ProfileOutcome {
  profile: string;
  median: Summary;
  spread: Summary;
  /** What it was compared with: a baseline, another commit, or nothing yet. */
  against: string | null;
  checks: Check[];
  failedRequests: { failed: number; requests: number; statuses: Record<string, number> };
  ok: boolean;
}

export interface PerfOutcome {
  mode: 'baseline' | 'against' | 'record';
  ref?: string;
  rounds: number;
  profiles: ProfileOutcome[];
  ok: boolean;
}

const unit = (f: string, v: number) => (f === 'rps' ? `${v.toFixed(0)} req/s` : `${v.toFixed(2)} ms`);

export function perfTable(o: PerfOutcome): string {
  const rows: string[][] = [['profile', 'figure', 'now', 'before', 'change', 'limit', 'spread', 'verdict']];
  for (const p of o.profiles) {
    if (p.failedRequests.failed > 0)
      rows.push([
        p.profile,
        'answers',
        `${p.failedRequests.failed} of ${p.failedRequests.requests} not 2xx`,
        '0',
        '',
        '0',
        '',
        `FAIL (${Object.entries(p.failedRequests.statuses)
          .filter(([s]) => !s.startsWith('2'))
          .map(([s, n]) => `${s}: ${n}`)
          .join(', ')})`,
      ]);
    for (const f of FIGURES) {
      const c = p.checks.find((x) => x.figure === f);
      const sign = c && c.worse > 0 ? (f === 'rps' ? '-' : '+') : f === 'rps' ? '+' : '-';
      rows.push([
        p.profile,
        f === 'rps' ? 'throughput' : f,
        unit(f, p.median[f]),
        c ? unit(f, c.before) : '-',
        c ? `${sign}${Math.abs(c.worse).toFixed(1)}%` : '-',
        c ? `${c.limit}%` : '-',
        `±${(p.spread[f] / 2).toFixed(1)}%`,
        c ? (c.ok ? 'ok' : 'FAIL') : 'no baseline',
      ]);
    }
  }
  const widths = (rows[0] as string[]).map((_, i) => Math.max(...rows.map((r) => (r[i] as string).length)));
  return rows
    .map((r) =>
      r
        .map((c, i) => c.padEnd(widths[i] as number))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

export const perfFile = (config: ToolkitConfig) => resultsFile(config, 'perf.json');

/**
 * `just perf`: the load profiles of realstack.json against the running (or a fresh) stack, rounds
 * of each; the gate against the committed baselines (`--update-baseline` writes them), or against
 * the stack of another commit measured in the same run, rounds interleaved (`--against REF`).
 */
export async function runPerf(toolkit: ToolkitConfig, args: string[], log: Log): Promise<number> {
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({
      args,
      allowPositionals: true,
      options: {
        'update-baseline': { type: 'boolean' },
        against: { type: 'string' },
        rounds: { type: 'string' },
        json: { type: 'boolean' },
      },
    });
  } catch (err) {
    throw new UserError(`realstack perf: ${(err as Error).message}`, 2);
  }
  const v = parsed.values as {
    'update-baseline'?: boolean;
    against?: string;
    rounds?: string;
    json?: boolean;
  };
  const config = ensureSecrets(toolkit);
  const request = perfRequest(config, parsed.positionals, v.rounds);
  if (v.against && v['update-baseline'])
    throw new UserError('--update-baseline records this commit alone: leave out --against.', 2);
  const outcome = await withStack(config, log, (engine) =>
    perfOutcome(
      config,
      engine,
      { ...request, against: v.against, updateBaseline: v['update-baseline'] },
      log,
    ),
  );
  writeFileWhole(perfFile(config), `${JSON.stringify(outcome, null, 2)}\n`);
  if (v.json) process.stdout.write(`${JSON.stringify(outcome, null, 2)}\n`);
  else process.stdout.write(`${perfTable(outcome)}\n`);
  const missing = withoutBaseline(outcome);
  if (missing.length > 0)
    log(
      `no baseline for ${missing.join(', ')}: \`just perf --update-baseline\` records one in ${config.project.perf.baselines}/ (commit it)`,
    );
  log(
    outcome.ok
      ? 'performance: within the thresholds'
      : 'performance: a regression past the thresholds, or failed requests',
  );
  return outcome.ok ? 0 : 1;
}

/** Profiles a baseline run had nothing to compare with. */
export const withoutBaseline = (o: PerfOutcome) =>
  o.mode === 'baseline' ? o.profiles.filter((p) => p.against === null).map((p) => p.profile) : [];

/** The profiles asked for (all when none is named) and the rounds, checked. */
export function perfRequest(
  config: ToolkitConfig,
  names: string[],
  roundsArg?: string,
): { profiles: [string, PerfProfile][]; rounds: number } {
  const perf = config.project.perf;
  const all = Object.entries(perf.profiles);
  if (all.length === 0)
    throw new UserError(
      'no load profile is declared: add them to realstack.json under perf.profiles (docs/gates.md has an example).',
    );
  const unknown = names.filter((n) => !perf.profiles[n]);
  if (unknown.length > 0)
    throw new UserError(
      `no load profile ${unknown.map((n) => `"${n}"`).join(', ')}; the profiles are ${Object.keys(perf.profiles).join(', ')}.`,
      2,
    );
  const rounds = roundsArg === undefined ? perf.rounds : Number(roundsArg);
  if (!Number.isInteger(rounds) || rounds < 1 || rounds > 50)
    throw new UserError(`--rounds ${roundsArg}: give a whole number from 1 to 50.`, 2);
  return { profiles: names.length ? all.filter(([n]) => names.includes(n)) : all, rounds };
}

/**
 * The profiles against a running stack: compared with the baselines, recorded as the baselines,
 * or compared with REF's stack started beside it.
 */
export async function perfOutcome(
  config: ToolkitConfig,
  engine: Engine,
  request: {
    profiles: [string, PerfProfile][];
    rounds: number;
    against?: string | undefined;
    updateBaseline?: boolean | undefined;
  },
  log: Log,
): Promise<PerfOutcome> {
  const { profiles, rounds } = request;
  const perf = config.project.perf;
  const here = await target('current', engine, config.env, config.project, config.projectDir);
  const ref = request.against;
  if (ref) {
    return withStackAt(config, ref, log, async (refEngine, refConfig) => {
      const there = await target(ref, refEngine, refConfig.env, config.project, config.projectDir);
      log(`perf: ${profiles.length} profiles, ${rounds} rounds, this checkout and ${ref} alternating`);
      const results = await measure([here, there], profiles, rounds, log);
      const outcome = outcomeOf('against', profiles, results, (_name, [now, then]) => ({
        against: ref,
        ...compareRounds(now as Figures[], then as Figures[], perf.thresholds),
      }));
      return { ...outcome, ref };
    });
  }
  log(`perf: ${profiles.length} profiles, ${rounds} rounds on the ${engine.name} engine`);
  const results = await measure([here], profiles, rounds, log);
  if (request.updateBaseline) {
    const commit = (await headCommit(config.projectDir)) ?? null;
    for (const [name, [rs]] of results) {
      const { median: m, spread } = summarize(rs as Figures[]);
      const file = writeBaseline(config, {
        profile: name,
        commit,
        engine: engine.name,
        rounds,
        median: m,
        spread,
      });
      log(`baseline: ${path.relative(config.projectDir, file)}`);
    }
    return outcomeOf('record', profiles, results, () => ({ against: null, checks: [] }));
  }
  return outcomeOf('baseline', profiles, results, (name, [now]) => {
    const b = readBaseline(config, name);
    return b
      ? {
          against: `baseline of ${b.recordedAt.slice(0, 10)}`,
          checks: compare(summarize(now as Figures[]).median, b.median, perf.thresholds),
        }
      : { against: null, checks: [] };
  });
}

function outcomeOf(
  mode: PerfOutcome['mode'],
  profiles: [string, PerfProfile][],
  results: Map<string, Figures[][]>,
  against: (
    name: string,
    rounds: Figures[][],
  ) => { against: string | null; checks: Check[]; spread?: Summary },
): PerfOutcome {
  const out: ProfileOutcome[] = profiles.map(([name]) => {
    const rs = results.get(name) as Figures[][];
    const mine = rs[0] as Figures[];
    const own = summarize(mine);
    const all = rs.flat();
    const failed = all.reduce((n, f) => n + f.failed, 0);
    const statuses: Record<string, number> = {};
    for (const f of all)
      for (const [s, n] of Object.entries(f.statuses)) statuses[s] = (statuses[s] ?? 0) + n;
    const { against: what, checks, spread } = against(name, rs);
    return {
      profile: name,
      median: own.median,
      spread: spread ?? own.spread,
      against: what,
      checks,
      failedRequests: { failed, requests: all.reduce((n, f) => n + f.requests, 0), statuses },
      ok: failed === 0 && checks.every((c) => c.ok),
    };
  });
  return {
    mode,
    rounds: (profiles[0] && results.get(profiles[0][0])?.[0]?.length) ?? 0,
    profiles: out,
    ok: out.every((p) => p.ok),
  };
}
