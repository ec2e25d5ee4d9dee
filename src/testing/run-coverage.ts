import path from 'node:path';
import type { ToolkitConfig } from '../config/toolkit.js';
import { harvest } from '../coverage/collect.js';
import { instrument } from '../coverage/instrument.js';
import { coveragePaths, describeOutcome, reportCoverage } from '../coverage/pipeline.js';
import { describeStop } from '../engine/stop.js';
import type { Engine } from '../engine/types.js';
import type { Log } from '../log.js';
import { ensureSecrets } from '../secrets.js';
import { startStack } from '../stack/stack.js';
import { closingLine, downOnce, prepareRun, runTap } from './run-tests.js';
import { leadingProfiles } from './selection.js';

/** Copies every instrumented process's dumps into the coverage folder's raw/. */
export async function harvestRun(engine: Engine, config: ToolkitConfig, log: Log): Promise<void> {
  const raw = coveragePaths(config.coverageDir).raw;
  const copied = await harvest(engine, raw);
  log(
    `harvested the coverage of ${copied} instrumented instances into ${path.relative(config.projectDir, raw)}/`,
  );
}

/**
 * `just test-sidecar-coverage`: a fresh stack with the coverage overlay (coverage/instrument.ts),
 * the tests, a graceful stop (the spy flushes), harvest, reports, gaps and gates, and down: also
 * on failure and Ctrl-C.
 * Fails on failing tests, unmet gates, or dumps that are missing.
 */
export async function runTestsWithCoverage(
  toolkit: ToolkitConfig,
  args: string[],
  log: Log,
): Promise<number> {
  const { profiles, rest } = leadingProfiles(args);
  const config = ensureSecrets(profiles.length > 0 ? { ...toolkit, profiles } : toolkit);
  const tapArgs = rest;
  const { engine } = await startStack(config, {
    log,
    prepare: prepareRun(config, log),
    overlay: (stack) => instrument(stack, config.coverage.flushMs),
  });
  const takeDown = downOnce(engine, log);
  let counts: Awaited<ReturnType<typeof runTap>>;
  try {
    counts = await runTap(config, engine, tapArgs, log, takeDown);
    log('stopping the services gracefully, so that every process flushes its coverage');
    for (const r of await engine.stop()) log(describeStop(r));
    await harvestRun(engine, config, log);
  } finally {
    await takeDown();
  }
  const outcome = await reportCoverage(engine.stack, config.coverage, config.coverageDir, log);
  const covered = describeOutcome(outcome, log);
  log(
    `line coverage: ${Object.entries(outcome.lines)
      .map(([s, pct]) => `${s} ${pct}%`)
      .join(', ')}`,
  );
  const testsPassed = closingLine(counts, log) === 0;
  return testsPassed && covered ? 0 : 1;
}
