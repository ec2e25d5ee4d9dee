import { rmSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { ToolkitConfig } from '../config/toolkit.js';
import { harvest } from '../coverage/collect.js';
import { instrument, spyOptions } from '../coverage/instrument.js';
import { coveragePaths, describeLines, describeOutcome, reportCoverage } from '../coverage/pipeline.js';
import { describeStop } from '../engine/stop.js';
import type { Engine } from '../engine/types.js';
import { UserError } from '../errors.js';
import { impactMapFile, recordImpactMap } from '../impact/map.js';
import { Recorder, TEST_HOOK } from '../impact/recorder.js';
import { writeWhoReport } from '../impact/who-html.js';
import type { Log } from '../log.js';
import type { Counts } from '../results/model.js';
import { ensureSecrets } from '../secrets.js';
import { openSliceDir } from '../spy/slices.js';
import { prepareRun } from '../stack/prepare.js';
import { startStack } from '../stack/stack.js';
import { closingLine, downOnce, runSuite } from './run-tests.js';
import {
  checkNamedFiles,
  jobsArgIndex,
  leadingCoverageOptions,
  parseTestRun,
  tapArgsFor,
} from './selection.js';
import { clearManifest, describePlan, emptyShard, NO_RUN, planShard, writeManifest } from './shard.js';
import { startTapAhead } from './tap-process.js';

/** Copies every instrumented process's dumps into the coverage folder's raw/. */
export async function harvestRun(engine: Engine, config: ToolkitConfig, log: Log): Promise<void> {
  const raw = coveragePaths(config.coverageDir).raw;
  const copied = await harvest(engine, raw);
  log(
    `harvested the coverage of ${copied} instrumented instances into ${path.relative(config.projectDir, raw)}/`,
  );
}

/**
 * tap's arguments for a recording: one job (tests side by side against one stack would fall
 * into each other's slices, so more is refused), and the hook that marks each file's start.
 */
function recordingArgs(tapArgs: string[]): string[] {
  const jobs = jobsArgIndex(tapArgs);
  if (jobs >= 0) {
    const arg = tapArgs[jobs] as string;
    const value = arg.includes('=')
      ? arg.split('=')[1]
      : /^-j\d+$/.test(arg)
        ? arg.slice(2)
        : tapArgs[jobs + 1];
    if (value !== '1')
      throw new UserError(
        `--per-test records one test file at a time: with ${arg}${arg.includes('=') || /^-j\d/.test(arg) ? '' : ` ${value}`}, files running side by side against one stack would blur each other's slices. Leave --jobs out (or give --jobs 1).`,
        2,
      );
  }
  return ['--jobs=1', `--node-arg=--import=${pathToFileURL(TEST_HOOK).href}`, ...tapArgs];
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
  const { profiles, perTest, retries, failFlaky, shard, rest } = leadingCoverageOptions(args);
  // Refused before anything starts.
  if (perTest && retries)
    throw new UserError(
      '--per-test records each test file once: a retried file would be recorded twice. Leave --retries out.',
      2,
    );
  if (perTest && shard)
    throw new UserError(
      '--per-test with --shard: `realstack merge` does not combine impact maps. Record the map in one unsharded run.',
      2,
    );
  const run = parseTestRun(['--', ...rest]);
  checkNamedFiles(toolkit.projectDir, run.tapArgs);
  const plan = shard && (await planShard(toolkit, run, shard));
  if (plan) log(describePlan(plan));
  const tapArgs = plan ? await tapArgsFor(run, toolkit.projectDir, plan) : rest;
  const recording = perTest ? recordingArgs(tapArgs) : tapArgs;
  const config = ensureSecrets(profiles.length > 0 ? { ...toolkit, profiles } : toolkit);
  if (plan && plan.mine.length === 0) {
    const none = emptyShard(config);
    await writeManifest(config, plan, { ...NO_RUN, kind: 'coverage' }, none);
    return closingLine(none, log);
  }
  const spy = spyOptions(config);
  const sliceDir = coveragePaths(config.coverageDir).slices;
  // Slices of an earlier recording would count again in this run's figures.
  rmSync(sliceDir, { recursive: true, force: true });
  if (perTest) openSliceDir(sliceDir);
  // tap's runner loads its modules while the stack starts.
  const ahead = startTapAhead(config, recording, log);
  let started: Awaited<ReturnType<typeof startStack>>;
  try {
    started = await startStack(config, {
      log,
      prepare: prepareRun(config, log),
      overlay: (stack) => instrument(stack, spy, perTest ? sliceDir : undefined),
    });
  } catch (error) {
    ahead?.abandon();
    throw error;
  }
  const { engine } = started;
  const takeDown = downOnce(engine, log);
  let counts: Counts;
  try {
    if (perTest) {
      const recorder = await Recorder.start(sliceDir, config.projectDir, log);
      log('per-test recording: one test file at a time, each sliced from the next in every service process');
      try {
        counts = await runSuite(config, engine, recording, log, takeDown, {
          retries: 0,
          kind: 'coverage',
          extraEnv: recorder.env,
          ahead,
        });
      } finally {
        await recorder.finish();
      }
    } else
      counts = await runSuite(config, engine, tapArgs, log, takeDown, {
        retries: retries ?? config.project.flaky.retries,
        kind: 'coverage',
        shard: Boolean(plan),
        ahead,
      });
    log('stopping the services gracefully, so that every process flushes its coverage');
    for (const r of await engine.stop()) log(describeStop(r));
    await harvestRun(engine, config, log);
  } finally {
    ahead?.abandon();
    await takeDown();
  }
  const outcome = await reportCoverage(engine.stack, config.coverage, config.coverageDir, log);
  const covered = describeOutcome(outcome, log);
  log(describeLines(outcome.lines));
  if (perTest) {
    const durations = new Map(counts.files.map((f) => [f.file, f.ms]));
    const started = performance.now();
    const map = await recordImpactMap(config, engine.stack, sliceDir, outcome.map, durations, engine.name);
    log(
      `impact map: ${Object.keys(map.tests).length} test files over ${Object.keys(map.sources).length} service files, in ${path.relative(config.projectDir, impactMapFile(config))} (${((performance.now() - started) / 1000).toFixed(2)} s)`,
    );
    const who = writeWhoReport(map, config.projectDir, config.coverageDir);
    log(`who ran each line: ${path.relative(config.projectDir, who)}/index.html`);
  }
  const raw = coveragePaths(config.coverageDir).raw;
  if (plan)
    await writeManifest(
      config,
      plan,
      { runId: engine.run.runId, engine: engine.name, kind: 'coverage', coverageRaw: raw },
      counts,
    );
  else clearManifest(config);
  const testsPassed = closingLine(counts, log, failFlaky || config.project.flaky.failOnFlaky) === 0;
  return testsPassed && covered ? 0 : 1;
}
