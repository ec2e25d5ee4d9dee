import type { ToolkitConfig } from '../config/toolkit.js';
import { runTmpDirs } from '../engine/run-dirs.js';
import type { Engine, EngineName, Instance } from '../engine/types.js';
import { UserError } from '../errors.js';
import { readImagesState } from '../images/state.js';
import type { Log } from '../log.js';
import { freePort } from '../util/net.js';
import { waitReady } from './readiness.js';
import type { StackSpec } from './spec.js';
import { newRunId, type RunState, StateStore } from './state.js';

/** auto: docker when a daemon answers, else process. Explicit docker without a daemon is an error. */
export async function chooseEngine(config: ToolkitConfig): Promise<{ name: EngineName; reason: string }> {
  if (config.engine === 'process' || config.engine === 'external')
    return { name: config.engine, reason: config.engineSource };
  const { daemonAnswers, dockerEndpoint } = await import('../engine/docker.js');
  const endpoint = dockerEndpoint(config.env);
  const { host } = endpoint;
  const answers = await daemonAnswers(endpoint);
  if (config.engine === 'docker') {
    if (!answers) {
      throw new UserError(
        `${config.engineSource === '--engine' ? '--engine docker' : 'REALSTACK_ENGINE=docker'}, but no Docker daemon answers at ${host}. Start dockerd (or Docker Desktop), ` +
          'set DOCKER_HOST to where it listens, or use REALSTACK_ENGINE=process to run without Docker.',
      );
    }
    return { name: 'docker', reason: config.engineSource };
  }
  return answers
    ? { name: 'docker', reason: `auto: a Docker daemon answers at ${host}` }
    : { name: 'process', reason: `auto: no Docker daemon at ${host}` };
}

/** The engine of a run; each engine's module (dockerode, pg, execa) loads only when a run uses it. */
export async function engineFor(config: ToolkitConfig, run: RunState): Promise<Engine> {
  const store = new StateStore(config.stateDir);
  switch (run.engine) {
    case 'docker': {
      const { DockerEngine, dockerEndpoint } = await import('../engine/docker.js');
      return new DockerEngine(
        run.stack,
        run,
        store,
        config.env,
        dockerEndpoint(config.env),
        () => readImagesState(config).run,
      );
    }
    case 'process': {
      const { ProcessEngine } = await import('../engine/process.js');
      return new ProcessEngine(run.stack, run, store, config.env);
    }
    case 'external': {
      const { ExternalEngine } = await import('../engine/external.js');
      return new ExternalEngine(run.stack, run, config.env);
    }
  }
}

/**
 * A run id already in use (REALSTACK_RUN_ID given again): a second start would overwrite the
 * live run's state, and its processes or containers would outlive every `down`. A live run is
 * refused; what a dead one left is reaped first. A new id costs one look at the state folder.
 */
async function noSecondStart(
  config: ToolkitConfig,
  store: StateStore,
  runId: string,
  log: Log,
): Promise<void> {
  if (!store.load(runId) && !runTmpDirs(config.env).some((d) => d.runId === runId)) return;
  const { reapDead, surveyRuns } = await import('../cleanup/reaper.js');
  const verdict = (await surveyRuns(config, Number.POSITIVE_INFINITY)).find((v) => v.runId === runId);
  if (!verdict) return;
  if (verdict.dead) {
    await reapDead(config, [verdict], log);
    return;
  }
  throw new UserError(
    `run ${runId} is already up: ${verdict.resources.join(', ')} (${verdict.reason}). Take it down first (\`npx realstack down\`; \`npx realstack cleanup --show\` lists every run), or start this one under another REALSTACK_RUN_ID.`,
  );
}

/** The run a command acts on: REALSTACK_RUN_ID, else the last one `up` started. */
export async function openRun(config: ToolkitConfig): Promise<Engine> {
  const store = new StateStore(config.stateDir);
  if (config.engine === 'external') {
    const { projectStack } = await import('./compose.js');
    return engineFor(config, newRunState(config, 'external', projectStack(config)));
  }
  const runId = config.env.REALSTACK_RUN_ID || store.current();
  const run = runId ? store.load(runId) : undefined;
  if (!run) {
    throw new UserError(
      runId
        ? `no run "${runId}" is known in ${config.stateDir}.`
        : 'no stack is running here: start one with `npx realstack up`.',
    );
  }
  if (!run.stack)
    throw new UserError(
      `run ${run.runId} was started by an older realstack: remove it with \`npx realstack cleanup\`, then start a new one.`,
    );
  return engineFor(config, run);
}

function newRunState(config: ToolkitConfig, engine: EngineName, stack: StackSpec, keep = false): RunState {
  const runId = config.env.REALSTACK_RUN_ID || newRunId();
  return {
    runId,
    engine,
    project: `realstack_${runId}`,
    files: config.composeFiles,
    stack,
    startedAt: new Date().toISOString(),
    ownerPid: keep ? null : process.pid,
    detail: {},
  };
}

/**
 * Services that must know their own public URL get a free port chosen now (unless the user
 * fixed one), set in the environment the compose files are interpolated with.
 */
async function withKnownPorts(
  config: ToolkitConfig,
  stack: StackSpec,
  scale: Record<string, number>,
  asked: Record<string, number>,
): Promise<ToolkitConfig> {
  const env = { ...config.env };
  for (const svc of stack.services.filter((s) => s.knownPortVar)) {
    const variable = svc.knownPortVar as string;
    const n = scale[svc.name] ?? 1;
    if (n > 1) {
      throw new UserError(
        `${asked[svc.name] ? '--scale' : 'its compose file scales it:'} ${svc.name}=${n}: ${svc.name} publishes one known port (its public URL, ${variable}), so it runs once.`,
      );
    }
    if (!env[variable]) env[variable] = String(await freePort());
  }
  return { ...config, env };
}

export interface UpOptions {
  scale?: Record<string, number>;
  log: Log;
  /** The stack outlives this process (`up`); otherwise it is this process's, to be reaped with it. */
  keep?: boolean;
  /** The run's build (e.g. images for docker): the engine starts what runs the project's files once it is done. */
  prepare?(engine: EngineName, stack: StackSpec): Promise<void>;
  /** Changes the stack before it starts: the coverage overlay (coverage/instrument.ts). */
  overlay?(stack: StackSpec): StackSpec;
  /** Called with the engine before anything starts: for what must reach the stack as it starts (a proxy). */
  created?(engine: Engine): void;
}

/**
 * Starts a fresh run and waits until it is ready. On any failure, or Ctrl-C while starting,
 * the half-created stack is taken down before the error reaches the caller.
 */
export async function startStack(
  config: ToolkitConfig,
  options: UpOptions,
): Promise<{ engine: Engine; instances: Instance[] }> {
  // The compose files are read, and realstack.json checked against them, before anything is created.
  // Loaded by the commands that read the compose files: `ps`, `logs` and `down` use the run's saved stack.
  const { projectStack } = await import('./compose.js');
  const read = projectStack(config);
  // The compose file's replicas, unless --scale says otherwise.
  const scale = {
    ...Object.fromEntries(read.services.flatMap((s) => (s.replicas ? [[s.name, s.replicas]] : []))),
    ...options.scale,
  };
  config = await withKnownPorts(config, read, scale, options.scale ?? {});
  let stack = projectStack(config);
  if (options.overlay) stack = options.overlay(stack);
  const choice = await chooseEngine(config);
  options.log(`engine: ${choice.name} (${choice.reason})`);
  for (const s of stack.services)
    for (const n of s.notes.filter((n) => n.kind === 'changed' || n.kind === 'warning'))
      options.log(`  ${s.name}: ${n.kind === 'warning' ? 'warning: ' : ''}${n.text}`);
  const store = new StateStore(config.stateDir);
  const run = newRunState(config, choice.name, stack, options.keep);
  const engine = await engineFor(config, run);
  options.created?.(engine);
  for (const [svc] of Object.entries(options.scale ?? {})) {
    if (!engine.stack.services.some((s) => s.name === svc)) {
      throw new UserError(
        `--scale names "${svc}", which is not a service; the services are ${engine.stack.services.map((s) => s.name).join(', ')}.`,
      );
    }
  }
  if (choice.name !== 'external') {
    await noSecondStart(config, store, run.runId, options.log);
    store.save(run);
    // A run with an id of its own (tests, CI) is addressed by that id and leaves `current` alone.
    if (!config.env.REALSTACK_RUN_ID) store.setCurrent(run.runId);
  }
  const interrupted = () => {
    options.log('interrupted: taking the stack down');
    void engine.down().finally(() => process.exit(130));
  };
  process.once('SIGINT', interrupted);
  // The build is checked (and made where it changed) while the engine readies what it can
  // without it: docker's containers are created, the process engine's PostgreSQL starts.
  const built = (async () => {
    await options.prepare?.(choice.name, stack);
    options.log(`run ${run.runId}: starting ${engine.stack.services.map((s) => s.name).join(', ')}`);
  })();
  // Its failure is the engine's to throw when it comes to wait for it: not an unhandled one before.
  built.catch(() => {});
  try {
    await engine.up({ scale, timeoutMs: config.readyTimeoutMs, log: options.log, built });
    const instances = await waitReady(engine, {
      timeoutMs: config.readyTimeoutMs,
      onChange: (i, ms) =>
        options.log(
          `  ${i.name.padEnd(12)} ${i.restarting ? `exited with code ${i.exitCode}, restarting` : i.state}${i.health !== 'none' ? `, ${i.health}` : ''} (${(ms / 1000).toFixed(1)}s)`,
        ),
    });
    return { engine, instances };
  } catch (err) {
    // A build still running is let finish: it writes the project's files and images, not the run's.
    await built.catch(() => {});
    await engine.down().catch((e: Error) => options.log(`cleanup after failure also failed: ${e.message}`));
    throw err;
  } finally {
    process.removeListener('SIGINT', interrupted);
  }
}
