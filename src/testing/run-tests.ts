import type { ToolkitConfig } from '../config/toolkit.js';
import type { Engine } from '../engine/types.js';
import { UserError } from '../errors.js';
import type { RunRecord } from '../flaky/history.js';
import { keyOf } from '../flaky/policy.js';
import type { Log } from '../log.js';
import { BAIL_OUT, type Counts, type FileCounts, tally } from '../results/model.js';
import { ensureSecrets } from '../secrets.js';
import { prepareRun } from '../stack/prepare.js';
import { waitReady } from '../stack/readiness.js';
import { openRun, startStack } from '../stack/stack.js';
import { failingFiles, mergeAttempt, retryArgs } from './attempts.js';
import { connectionHints } from './connection-hints.js';
import { classify, quarantinedNow, recordRun, setApart } from './record-history.js';
import { keepServiceLogs, recordResults } from './results.js';
import { checkNamedFiles, parseTestRun, setFiles, tapArgsFor, tapOrder } from './selection.js';
import { clearManifest, describePlan, emptyShard, NO_RUN, planShard, writeManifest } from './shard.js';
import { StackWatch } from './stack-watch.js';
import { fileTable, summaryLine, tapCounter } from './summary.js';
import { startTap, startTapAhead, type TapProcess } from './tap-process.js';
import { testEnv } from './test-env.js';

/** A running stack of this checkout that answers healthy, or undefined. */
async function reusable(config: ToolkitConfig, log: Log): Promise<Engine | undefined> {
  let engine: Engine;
  try {
    engine = await openRun(config);
  } catch {
    return undefined;
  }
  // An engine asked for by name is the one the tests run on, whatever else is running.
  if ((config.engine === 'docker' || config.engine === 'process') && engine.name !== config.engine) {
    log(
      `a stack runs on the ${engine.name} engine (run ${engine.run.runId}), left alone: ${config.engineSource === '--engine' ? '--engine ' : 'REALSTACK_ENGINE='}${config.engine} asks for the ${config.engine} engine, so this run starts its own`,
    );
    return undefined;
  }
  try {
    await waitReady(engine, { timeoutMs: 5000 });
    log(`using the running stack: run ${engine.run.runId} (${engine.name})`);
    return engine;
  } catch {
    return undefined;
  }
}

/**
 * One tap run against the stack's URLs: `ahead`'s runner, started before the stack was up, or a
 * tap started now. The TAP stream goes to the terminal and, as it passes, into the counter.
 * Ctrl-C stops tap's whole process group, runs `cleanup` and exits 130.
 */
async function tapOnce(
  config: ToolkitConfig,
  engine: Engine,
  tapArgs: string[],
  log: Log,
  cleanup: () => Promise<void>,
  extraEnv: Record<string, string>,
  ahead?: TapProcess,
): Promise<FileCounts[]> {
  const instances = await engine.instances();
  const stackEnv = { ...testEnv(engine, instances, config.project, config.env), ...extraEnv };
  ahead?.go?.(stackEnv);
  const { child, exited, signal: signalTests } = ahead ?? startTap(config, tapArgs, stackEnv, log);
  const onInterrupt = () => {
    log('interrupted: stopping the tests');
    signalTests('SIGINT');
    setTimeout(() => signalTests('SIGKILL'), 5000).unref();
    void cleanup().finally(() => {
      signalTests('SIGKILL');
      process.exit(130);
    });
  };
  process.once('SIGINT', onInterrupt);
  let tapExit: number;
  let files: FileCounts[];
  try {
    // The TAP parser loads while tap starts the test processes, not before the stack (70 ms);
    // tap's output waits in the pipe meanwhile.
    const counter = await tapCounter();
    files = counter.files;
    child.stdout?.on('data', (chunk: Buffer) => {
      process.stdout.write(chunk);
      counter.parser.write(chunk);
    });
    tapExit = await exited;
    counter.parser.end();
  } finally {
    process.removeListener('SIGINT', onInterrupt);
  }
  if (tapExit !== 0 && !files.some((f) => f.tests.some((t) => t.status === 'failed'))) {
    const why = `tap exited with ${tapExit} without a failing test result`;
    files.push({
      file: BAIL_OUT,
      tests: [{ name: why, status: 'failed', ms: null, attempts: 1, failures: [why] }],
      ms: null,
      endedAt: Date.now(),
    });
  }
  return files;
}

export interface SuiteOptions {
  /** Each failing file runs again up to this many times (flaky.retries, or --retries). */
  retries: number;
  /** What the history records the run as. */
  kind: RunRecord['kind'];
  extraEnv?: Record<string, string>;
  /**
   * A shard's part is left out of the history: `merge` records the whole run once, and every
   * shard must weigh the files by the same history to split them alike.
   */
  shard?: boolean;
  /** tap's runner, started before the stack came up (startTapAhead): the first attempt's. */
  ahead?: TapProcess;
}

/**
 * The tests against a running stack: tap, then each failing file again (up to `retries` times,
 * each time once the stack answers healthy); a test that fails and then passes is flaky. The
 * engine watches the stack meanwhile, so each failure is recorded with what the stack did. The
 * run goes into the JUnit file, the last-run record and the flaky-test history.
 */
export async function runSuite(
  config: ToolkitConfig,
  engine: Engine,
  tapArgs: string[],
  log: Log,
  cleanup: () => Promise<void>,
  options: SuiteOptions,
): Promise<Counts> {
  // Read while tap runs: loading the history's SQLite (WebAssembly) holds this process up to
  // 0.3 s, which tap's start would otherwise wait for. Settled here, so that a failure waits too.
  const quarantine = quarantinedNow(config).then(
    (set) => ({ set }),
    (error: unknown) => ({ error }),
  );
  const watch = StackWatch.start(engine);
  const failedWindows = new Map<string, [number, number][]>();
  const started = Date.now();
  const noteFailures = (files: FileCounts[]) => {
    for (const f of files)
      for (const t of f.tests.filter((x) => x.status === 'failed')) {
        const key = keyOf({ file: f.file, test: t.name });
        const to = f.endedAt ?? Date.now();
        failedWindows.set(key, [...(failedWindows.get(key) ?? []), [f.ms ? to - f.ms : started, to]]);
      }
  };
  let files: FileCounts[];
  try {
    files = await tapOnce(config, engine, tapArgs, log, cleanup, options.extraEnv ?? {}, options.ahead);
    noteFailures(files);
    for (let attempt = 1; attempt <= options.retries; attempt++) {
      const again = failingFiles(files);
      if (again.length === 0) break;
      const unready = await waitReady(engine, { timeoutMs: 30_000 }).then(
        () => undefined,
        (err: Error) => err.message.split('\n')[0],
      );
      if (unready) {
        log(`no retry: the stack is not healthy (${unready})`);
        break;
      }
      log(`retry ${attempt} of ${options.retries}: ${again.join(', ')}`);
      const retried = await tapOnce(
        config,
        engine,
        retryArgs(tapArgs, config.projectDir, again),
        log,
        cleanup,
        options.extraEnv ?? {},
      );
      noteFailures(retried);
      files = mergeAttempt(files, retried);
    }
  } finally {
    await watch.stop();
  }
  // Before quarantined failures are set apart: the hint holds for them too.
  for (const hint of await connectionHints(files, engine)) log(`hint: ${hint}`);
  classify(files, failedWindows, (from, to) => watch.between(from, to));
  const quarantined = await quarantine;
  if ('error' in quarantined) throw quarantined.error;
  setApart(files, quarantined.set);
  const counts = tally(files);
  const run = { runId: engine.run.runId, engine: engine.name };
  recordResults(config, counts, run);
  if (!options.shard) await recordRun(config, counts, { ...run, kind: options.kind }, log);
  if (counts.failed + counts.flaky + counts.quarantined > 0) await keepServiceLogs(config, engine);
  return counts;
}

/**
 * Names what failed, what was flaky and what was set apart, then prints the closing line, last:
 * "N passed, N failed". Flaky tests fail the run only when the policy says (flaky.failOnFlaky).
 */
export function closingLine(counts: Counts, log: Log, failOnFlaky = false): number {
  for (const f of counts.files)
    for (const t of f.tests) {
      const cause =
        t.failureClass === 'stack' ? ` [the stack changed meanwhile: ${t.stack?.join('; ')}]` : '';
      if (t.status === 'failed') log(`not ok: ${f.file}: ${t.name}${cause}`);
      if (t.status === 'flaky')
        log(`flaky: ${f.file}: ${t.name} (failed ${t.failures.length} of ${t.attempts} attempts)${cause}`);
      if (t.status === 'quarantined') log(`quarantined, failed: ${f.file}: ${t.name}${cause}`);
    }
  process.stdout.write(`${summaryLine(counts)}\n`);
  return counts.failed > 0 || (failOnFlaky && counts.flaky > 0) ? 1 : 0;
}

/**
 * `just test`: a stack (the running one, or a fresh one taken down afterwards, also on
 * Ctrl-C), tap with the stack's URLs, and the closing line counted from tap's own results.
 */
export async function runTests(toolkit: ToolkitConfig, args: string[], log: Log): Promise<number> {
  const run = parseTestRun(args);
  if (run.updateGolden && toolkit.env.CI === 'true') {
    throw new UserError(
      'refusing to rewrite the golden snapshots under CI=true: a changed response is a reviewed change. Run `npx realstack test --set golden --update-golden` on your machine, look at the diff of tap-snapshots/, and commit it.',
      2,
    );
  }
  checkNamedFiles(toolkit.projectDir, run.tapArgs);
  const plan = run.shard && (await planShard(toolkit, run, run.shard));
  if (plan) log(describePlan(plan));
  if (run.list) {
    const files = tapOrder(plan ? plan.mine : (await setFiles(run, toolkit.projectDir)).files);
    if (files.length > 0) process.stdout.write(`${files.join('\n')}\n`);
    return 0;
  }
  const tapArgs = await tapArgsFor(run, toolkit.projectDir, plan || undefined);
  if (run.profiles.length > 0) toolkit = { ...toolkit, profiles: run.profiles };
  // LIVE_SMOKE: a stack somebody else runs, attached by its URLs; nothing starts or stops.
  const config = ensureSecrets(run.set === 'smoke' ? { ...toolkit, engine: 'external' } : toolkit);
  let ran = NO_RUN;
  let counts: Counts;
  if (plan && plan.mine.length === 0) counts = emptyShard(config);
  else {
    // tap's runner loads its modules while the stack is found or started.
    const ahead = startTapAhead(config, tapArgs, log);
    try {
      counts = await withStack(config, log, (engine, stop) => {
        ran = { runId: engine.run.runId, engine: engine.name };
        return runSuite(config, engine, tapArgs, log, stop, {
          retries: run.retries ?? config.project.flaky.retries,
          kind: 'test',
          shard: Boolean(plan),
          ahead,
        });
      });
    } finally {
      ahead?.abandon();
    }
  }
  if (plan) await writeManifest(config, plan, { ...ran, kind: 'test' }, counts);
  else clearManifest(config);
  if (run.byModule) process.stdout.write(`${fileTable(counts.files)}\n`);
  return closingLine(counts, log, run.failFlaky || config.project.flaky.failOnFlaky);
}

/**
 * Runs `fn` on a stack: the external one, the running one of this checkout, or a fresh one that
 * is taken down afterwards (also on Ctrl-C, through `stop`).
 */
export async function withStack<T>(
  config: ToolkitConfig,
  log: Log,
  fn: (engine: Engine, stop: () => Promise<void>) => Promise<T>,
): Promise<T> {
  let engine = config.engine === 'external' ? await openRun(config) : await reusable(config, log);
  let owned = false;
  if (!engine) {
    engine = (await startStack(config, { log, prepare: prepareRun(config, log) })).engine;
    owned = true;
  }
  const stopOwned = owned ? downOnce(engine, log) : async () => {};
  try {
    return await fn(engine, stopOwned);
  } finally {
    await stopOwned();
  }
}

/** Takes the stack down the first time it is called (the end of a run, or Ctrl-C), never twice. */
export function downOnce(engine: Engine, log: Log): () => Promise<void> {
  let up = true;
  return async () => {
    if (!up) return;
    up = false;
    log(`taking down run ${engine.run.runId}`);
    await engine.down();
  };
}
