import { execa } from 'execa';
import { reapOrphans } from '../cleanup/reaper.js';
import type { ToolkitConfig } from '../config/toolkit.js';
import { urlVariable } from '../conventions/urls.js';
import type { Engine, EngineName } from '../engine/types.js';
import { UserError } from '../errors.js';
import { ensureImages } from '../images/build.js';
import { runHostBuild } from '../images/host-build.js';
import type { Log } from '../log.js';
import { ensureSecrets } from '../secrets.js';
import { waitReady } from '../stack/readiness.js';
import type { StackSpec } from '../stack/spec.js';
import { openRun, startStack } from '../stack/stack.js';
import { keepServiceLogs, resultRecorder } from './results.js';
import { parseTestRun, setFiles, tapArgsFor, tapConfig } from './selection.js';
import { type Counts, fileTable, summaryLine, tapCounter } from './summary.js';

/** The environment a test receives: the run id and every service's URL. */
export function testEnv(
  engine: Engine,
  instances: { service: string; url?: string }[],
): Record<string, string> {
  const env: Record<string, string> = { REALSTACK_RUN_ID: engine.run.runId, REALSTACK_ENGINE: engine.name };
  for (const svc of engine.stack.services) {
    const url = instances.find((i) => i.service === svc.name && i.url)?.url;
    if (url) env[urlVariable(svc.name)] = url;
  }
  return env;
}

/** A running stack of this checkout that answers healthy, or undefined. */
async function reusable(config: ToolkitConfig, log: Log): Promise<Engine | undefined> {
  let engine: Engine;
  try {
    engine = openRun(config);
  } catch {
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
 * tap against the stack's URLs. The TAP stream goes to the terminal and, as it passes, into
 * the counter. Ctrl-C stops tap's whole process group, runs `cleanup` and exits 130.
 */
export async function runTap(
  config: ToolkitConfig,
  engine: Engine,
  tapArgs: string[],
  log: Log,
  cleanup: () => Promise<void>,
  extraEnv: Record<string, string> = {},
): Promise<Counts> {
  const instances = await engine.instances();
  const recorder = await resultRecorder(config);
  // tap's coverage would measure the test processes (realstack measures the services), and
  // without any it exits 1 for no test's fault: off unless the project's tap settings say.
  const own = tapConfig(config.projectDir);
  const coverage =
    'disable-coverage' in own || tapArgs.some((a) => /coverage/.test(a)) ? [] : ['--disable-coverage'];
  const tap = execa('tap', ['--reporter=tap', ...coverage, ...tapArgs], {
    preferLocal: true,
    cwd: config.projectDir,
    env: { ...config.env, ...testEnv(engine, instances), ...extraEnv },
    stdin: 'ignore',
    stdout: 'pipe',
    stderr: 'inherit',
    buffer: false,
    reject: false,
    // A group of its own, so an interrupt reaches tap and every test process it started.
    detached: true,
  });
  const { parser, counts } = tapCounter();
  tap.stdout.on('data', (chunk: Buffer) => {
    process.stdout.write(chunk);
    parser.write(chunk);
    recorder.write(chunk);
  });
  const signalTests = (signal: NodeJS.Signals) => {
    try {
      if (tap.pid) process.kill(-tap.pid, signal);
    } catch {
      // The group is gone already.
    }
  };
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
  try {
    tapExit = (await tap).exitCode ?? 1;
  } finally {
    process.removeListener('SIGINT', onInterrupt);
  }
  parser.end();
  if (tapExit !== 0 && counts.failed === 0) {
    counts.failed = 1;
    counts.failures.push(`tap exited with ${tapExit} without a failing test result`);
  }
  recorder.finish(counts, { runId: engine.run.runId, engine: engine.name });
  if (counts.failed > 0) await keepServiceLogs(config, engine);
  return counts;
}

/** Names the failures and prints the closing line, last: "N passed, N failed". */
export function closingLine(counts: Counts, log: Log): number {
  for (const f of counts.failures) log(`not ok: ${f}`);
  process.stdout.write(`${summaryLine(counts)}\n`);
  return counts.failed > 0 ? 1 : 0;
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
  if (run.list) {
    const { files } = await setFiles(run, toolkit.projectDir);
    process.stdout.write(`${files.join('\n')}\n`);
    return 0;
  }
  const tapArgs = await tapArgsFor(run, toolkit.projectDir);
  if (run.profiles.length > 0) toolkit = { ...toolkit, profiles: run.profiles };
  // LIVE_SMOKE: a stack somebody else runs, attached by its URLs; nothing starts or stops.
  const config = ensureSecrets(run.set === 'smoke' ? { ...toolkit, engine: 'external' } : toolkit);
  let engine = config.engine === 'external' ? openRun(config) : await reusable(config, log);
  let owned = false;
  if (!engine) {
    engine = (await startStack(config, { log, prepare: prepareRun(config, log) })).engine;
    owned = true;
  }
  const stopOwned = owned ? downOnce(engine, log) : async () => {};
  let counts: Counts;
  try {
    counts = await runTap(config, engine, tapArgs, log, stopOwned);
  } finally {
    await stopOwned();
  }
  if (run.byModule) process.stdout.write(`${fileTable(counts.files)}\n`);
  return closingLine(counts, log);
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

/**
 * What a new stack needs first: what killed runs left behind reaped (so a killed `just test`
 * is cleaned up by the next run), the project's host build if it has one, and for docker the
 * images; each only when its inputs changed.
 */
export const prepareRun =
  (config: ToolkitConfig, log: Log) => async (engine: EngineName, stack: StackSpec) => {
    await reapOrphans(config, log);
    await runHostBuild(config, log);
    if (engine === 'docker') await ensureImages(config, stack, log, { reuse: true, standIns: false });
  };
