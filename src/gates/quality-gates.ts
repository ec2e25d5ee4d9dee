import { existsSync } from 'node:fs';
import path from 'node:path';
import { minimatch } from 'minimatch';
import type { ToolkitConfig } from '../config/toolkit.js';
import { checkGatesOfLastReport } from '../coverage/gates.js';
import type { Engine } from '../engine/types.js';
import { UserError } from '../errors.js';
import { History, historyFile } from '../flaky/history.js';
import type { Log } from '../log.js';
import { perfOutcome, perfRequest, withoutBaseline } from '../perf/run.js';
import { ensureSecrets } from '../secrets.js';
import { resultsFile } from '../testing/results.js';
import { runSuite, withStack } from '../testing/run-tests.js';
import { parseTestRun, setFiles } from '../testing/selection.js';
import { summaryLine } from '../testing/summary.js';
import { writeFileWhole } from '../util/files.js';

export const GATES = ['security', 'flakiness', 'performance', 'coverage'] as const;
export type GateName = (typeof GATES)[number];

export interface GateResult {
  gate: GateName;
  ok: boolean;
  /** What was measured, in a few words. */
  figure: string;
  limit: string;
  detail: string;
}

const fail = (gate: GateName, limit: string, detail: string): GateResult => ({
  gate,
  ok: false,
  figure: '-',
  limit,
  detail,
});

/** The security suite (gates.security) on the stack: every test passes; a quarantined failure still fails it. */
async function securityGate(
  config: ToolkitConfig,
  engine: Engine,
  stop: () => Promise<void>,
  log: Log,
): Promise<GateResult> {
  const globs = config.project.gates.security;
  const limit = 'every test passes';
  if (globs.length === 0)
    return fail(
      'security',
      limit,
      'no security suite is declared: list its test files in realstack.json gates.security, e.g. ["test/auth*.test.js"]',
    );
  const { files: all } = await setFiles(parseTestRun([]), config.projectDir);
  const files = all.filter((f) => globs.some((g) => minimatch(f, g)));
  if (files.length === 0)
    return fail('security', limit, `gates.security (${globs.join(', ')}) matches none of the test files`);
  log(`security gate: ${files.length} test files`);
  const counts = await runSuite(config, engine, files, log, stop, {
    retries: config.project.flaky.retries,
    kind: 'test',
  });
  const ok = counts.failed === 0 && counts.quarantined === 0;
  return {
    gate: 'security',
    ok,
    figure: summaryLine(counts),
    limit,
    detail: ok
      ? `${files.length} files: ${globs.join(', ')}`
      : [
          ...counts.failures,
          ...counts.files.flatMap((f) =>
            f.tests
              .filter((t) => t.status === 'quarantined')
              .map((t) => `${f.file}: ${t.name} (quarantined)`),
          ),
        ].join('; '),
  };
}

/** Flaky outcomes (flaky, or failed while quarantined) over every test's recent runs. */
async function flakinessGate(config: ToolkitConfig): Promise<GateResult> {
  const budget = config.project.gates.flakiness;
  const limit = `at most ${budget}% of test runs`;
  const file = historyFile(config);
  if (!existsSync(file)) return fail('flakiness', limit, 'no run is recorded yet: run the tests first');
  const h = await History.read(file);
  let stats: ReturnType<History['stats']>;
  try {
    stats = h.stats(config.project.flaky.window);
  } finally {
    h.close();
  }
  const runs = stats.reduce((n, s) => n + s.runs, 0);
  if (runs === 0) return fail('flakiness', limit, 'no test has run yet');
  const flaky = stats.reduce((n, s) => n + s.flaky + s.quarantined, 0);
  const share = (flaky / runs) * 100;
  const worst = stats
    .filter((s) => s.flaky + s.quarantined > 0)
    .sort((a, b) => b.flaky + b.quarantined - (a.flaky + a.quarantined))
    .slice(0, 3)
    .map((s) => `${s.file}: ${s.test} (${s.flaky + s.quarantined} of ${s.runs})`);
  return {
    gate: 'flakiness',
    ok: share <= budget,
    figure: `${share.toFixed(1)}% of ${runs} test runs flaky`,
    limit,
    detail: worst.length ? `most: ${worst.join('; ')}` : 'no flaky run',
  };
}

async function performanceGate(config: ToolkitConfig, engine: Engine, log: Log): Promise<GateResult> {
  const limit = Object.entries(config.project.perf.thresholds)
    .map(([k, v]) => `${k} ${k === 'throughput' ? '-' : '+'}${v}%`)
    .join(', ');
  if (Object.keys(config.project.perf.profiles).length === 0)
    return fail(
      'performance',
      limit,
      'no load profile is declared: realstack.json perf.profiles (docs/gates.md)',
    );
  const outcome = await perfOutcome(config, engine, perfRequest(config, []), log);
  const missing = withoutBaseline(outcome);
  const regressions = outcome.profiles.flatMap((p) => [
    ...(p.failedRequests.failed ? [`${p.profile}: ${p.failedRequests.failed} requests failed`] : []),
    ...p.checks
      .filter((c) => !c.ok)
      .map((c) => `${p.profile} ${c.figure} worse by ${c.worse.toFixed(1)}% (limit ${c.limit}%)`),
  ]);
  const within = outcome.profiles.filter((p) => p.ok && !missing.includes(p.profile)).length;
  return {
    gate: 'performance',
    ok: outcome.ok && missing.length === 0,
    figure: `${within} of ${outcome.profiles.length} profiles within`,
    limit,
    detail:
      [
        ...regressions,
        ...(missing.length ? [`no baseline for ${missing.join(', ')}: just perf --update-baseline`] : []),
      ].join('; ') || 'every profile against its baseline',
  };
}

function coverageGate(config: ToolkitConfig): GateResult {
  const c = config.coverage;
  const limit = Object.entries(c.global)
    .map(([m, v]) => `${m} ${v}%`)
    .concat(Object.keys(c.files).length ? [`${Object.keys(c.files).length} file globs`] : [])
    .join(', ');
  if (!limit)
    return fail('coverage', '-', 'no threshold is set: realstack.json coverage.global, e.g. {"lines": 80}');
  try {
    const failures = checkGatesOfLastReport(config.projectDir, config.coverageDir, c);
    return {
      gate: 'coverage',
      ok: failures.length === 0,
      figure: failures.length ? `${failures.length} thresholds missed` : 'every threshold met',
      limit,
      detail: failures.length
        ? failures.map((f) => `${f.scope} ${f.metric} ${f.actual}% < ${f.wanted}%`).join('; ')
        : `the last report (${path.relative(config.projectDir, config.coverageDir)}/)`,
    };
  } catch (err) {
    if (err instanceof UserError) return fail('coverage', limit, err.message);
    throw err;
  }
}

export function gatesTable(results: GateResult[]): string {
  const rows = [
    ['gate', 'verdict', 'figure', 'limit', 'detail'],
    ...results.map((r) => [r.gate, r.ok ? 'ok' : 'FAIL', r.figure, r.limit, r.detail]),
  ];
  const widths = [0, 1, 2, 3].map((i) => Math.max(...rows.map((r) => (r[i] as string).length)));
  return rows.map((r) => r.map((c, i) => (i < 4 ? c.padEnd(widths[i] as number) : c)).join('  ')).join('\n');
}

export const gatesFile = (config: ToolkitConfig) => resultsFile(config, 'quality-gates.json');

/**
 * `just quality-gates`: seed 003's gates in one table. The security suite and the load profiles
 * run on one stack (the running one, or a fresh one); flakiness comes from the test history and
 * coverage from the last report. Writes test-results/quality-gates.json.
 */
export async function runGates(toolkit: ToolkitConfig, names: string[], log: Log): Promise<GateResult[]> {
  const unknown = names.filter((n) => !GATES.includes(n as GateName));
  if (unknown.length > 0)
    throw new UserError(
      `no gate ${unknown.map((n) => `"${n}"`).join(', ')}; the gates are ${GATES.join(', ')}.`,
      2,
    );
  const chosen = (names.length ? names : GATES) as GateName[];
  const config = ensureSecrets(toolkit);
  const results: GateResult[] = [];
  if (chosen.includes('security') || chosen.includes('performance'))
    await withStack(config, log, async (engine, stop) => {
      if (chosen.includes('security')) results.push(await securityGate(config, engine, stop, log));
      if (chosen.includes('performance')) results.push(await performanceGate(config, engine, log));
    });
  if (chosen.includes('flakiness')) results.push(await flakinessGate(config));
  if (chosen.includes('coverage')) results.push(coverageGate(config));
  results.sort((a, b) => GATES.indexOf(a.gate) - GATES.indexOf(b.gate));
  writeFileWhole(
    gatesFile(config),
    `${JSON.stringify({ finishedAt: new Date().toISOString(), ok: results.every((r) => r.ok), gates: results }, null, 2)}\n`,
  );
  return results;
}
