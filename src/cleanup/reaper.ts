import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import type { ToolkitConfig } from '../config/toolkit.js';
import {
  type DockerEndpoint,
  daemonAnswers,
  dockerEndpoint,
  RUN_LABEL,
  removeByLabel,
  STARTED_LABEL,
  STATE_LABEL,
} from '../engine/docker.js';
import { dockerList } from '../engine/docker-api.js';
import { killGroup, RUN_OWNER_FILE } from '../engine/process.js';
import { runTmpDirs } from '../engine/run-dirs.js';
import type { Log } from '../log.js';
import { engineFor } from '../stack/stack.js';
import { type RunState, readRunState, StateStore } from '../stack/state.js';
import { isAlive } from '../util/pid.js';

/** A run the reaper found: its resources, and whether (and why) it counts as dead. */
export interface RunVerdict {
  runId: string;
  dead: boolean;
  reason: string;
  /** "3 containers", "temp dir /tmp/realstack-...", "state .realstack/runs/..." */
  resources: string[];
}

interface Found {
  state?: RunState;
  stateFile?: string;
  started?: string;
  docker: { containers: number; networks: number; volumes: number };
  tmpDirs: string[];
}

/** How old a kept run may get: `--older-than 24h`, `90m`, `2d`. */
export function parseAge(text: string): number | undefined {
  const m = /^(\d+)(m|h|d)$/.exec(text.trim());
  if (!m) return undefined;
  return Number(m[1]) * { m: 60_000, h: 3_600_000, d: 86_400_000 }[m[2] as 'm' | 'h' | 'd'];
}

const hours = (ms: number) =>
  ms < 3_600_000 ? `${Math.round(ms / 60_000)} min` : `${(ms / 3_600_000).toFixed(1)} h`;

type Labelled = { Labels?: Record<string, string> | null };

async function dockerResources(
  endpoint: DockerEndpoint,
  found: Map<string, Found>,
  at: (id: string) => Found,
) {
  const [containers, networks, volumes] = await Promise.all([
    dockerList<Labelled[]>(endpoint, '/containers/json?all=1', RUN_LABEL),
    dockerList<Labelled[]>(endpoint, '/networks', RUN_LABEL),
    dockerList<{ Volumes: Labelled[] | null }>(endpoint, '/volumes', RUN_LABEL),
  ]);
  const note = (labels: Labelled['Labels'], kind: keyof Found['docker']) => {
    const id = labels?.[RUN_LABEL];
    if (!id) return;
    const f = at(id);
    f.docker[kind]++;
    f.stateFile ??= labels?.[STATE_LABEL];
    f.started ??= labels?.[STARTED_LABEL];
  };
  for (const c of containers) note(c.Labels, 'containers');
  for (const n of networks) note(n.Labels, 'networks');
  for (const v of volumes.Volumes ?? []) note(v.Labels, 'volumes');
  return found;
}

/**
 * Every run this machine holds something of (this checkout's state, docker resources labelled
 * realstack, the process engine's temp dirs), each judged: dead when its owner process is gone,
 * when it is older than `maxAgeMs`, or when nothing records it any more (a `down` that never
 * finished). Live runs are listed too, so a user sees what was left alone and why.
 */
export async function surveyRuns(
  config: ToolkitConfig,
  maxAgeMs: number,
  now = Date.now(),
): Promise<RunVerdict[]> {
  const store = new StateStore(config.stateDir);
  const found = new Map<string, Found>();
  const at = (id: string): Found => {
    let f = found.get(id);
    if (!f) {
      f = { docker: { containers: 0, networks: 0, volumes: 0 }, tmpDirs: [] };
      found.set(id, f);
    }
    return f;
  };
  // Resources first, states last: a run saves its state before it creates anything, so a run
  // starting beside this survey is never seen with its resources and without its state.
  for (const { runId, dir } of runTmpDirs(config.env)) {
    const f = at(runId);
    f.tmpDirs.push(dir);
    f.stateFile ??= ownerStateFile(dir);
  }
  const endpoint = dockerEndpoint(config.env);
  if (await daemonAnswers(endpoint)) await dockerResources(endpoint, found, at);
  for (const state of store.all()) {
    const f = at(state.runId);
    f.state = state;
    f.stateFile = store.file(state.runId);
  }

  return [...found].map(([runId, f]): RunVerdict => {
    // A run of another checkout is judged by its own state file, which its labels name.
    f.state ??= f.stateFile ? readRunState(f.stateFile) : undefined;
    const resources = [
      ...(['containers', 'networks', 'volumes'] as const)
        .filter((k) => f.docker[k] > 0)
        .map((k) => `${f.docker[k]} ${f.docker[k] === 1 ? k.slice(0, -1) : k}`),
      ...f.tmpDirs.map((d) => `temp dir ${d}`),
      ...(f.state && f.stateFile
        ? [`state ${path.relative(config.projectDir, f.stateFile) || f.stateFile}`]
        : []),
    ];
    const started = Date.parse(f.state?.startedAt ?? f.started ?? '');
    const age = Number.isNaN(started) ? undefined : now - started;
    const verdict = (dead: boolean, reason: string) => ({ runId, dead, reason, resources });
    if (!f.state) {
      // Temp dirs alone may belong to another checkout's process-engine run: their processes say.
      if (f.docker.containers + f.docker.networks + f.docker.volumes === 0 && f.tmpDirs.some(hasLiveProcess))
        return verdict(false, 'processes of it still run, and no state here names it: left alone');
      return verdict(true, 'no state records it any more (its `down` never finished)');
    }
    if (f.state.engine === 'external') return verdict(false, 'external: not ours to remove');
    if (f.state.ownerPid !== null && !isAlive(f.state.ownerPid))
      return verdict(true, `its owner, process ${f.state.ownerPid}, is gone (killed or crashed)`);
    if (age !== undefined && age > maxAgeMs)
      return verdict(true, `started ${hours(age)} ago, older than the limit of ${hours(maxAgeMs)}`);
    return verdict(
      false,
      f.state.ownerPid === null
        ? `kept by \`up\` until \`down\`, ${age === undefined ? '' : `${hours(age)} old`}`
        : `owned by process ${f.state.ownerPid}, which runs`,
    );
  });
}

/**
 * The instance folders of a process-engine temp dir; none once it is gone, as it can go at any
 * moment: another command's reaper (every run's start has one) may be reaping the same dead run.
 */
function instanceDirs(tmpDir: string): string[] {
  try {
    return readdirSync(tmpDir);
  } catch {
    return [];
  }
}

/** pid.json files of a process-engine temp dir: the service processes its runners started. */
function childPids(tmpDir: string): number[] {
  return instanceDirs(tmpDir).flatMap((s) => {
    try {
      return [(JSON.parse(readFileSync(path.join(tmpDir, s, 'pid.json'), 'utf8')) as { pid: number }).pid];
    } catch {
      return [];
    }
  });
}

const hasLiveProcess = (tmpDir: string) => childPids(tmpDir).some(isAlive);

/**
 * Once a service is killed, its runner records the exit (exit.json, within a second of the
 * kill): removing the folder before that races the runner's write and fails with ENOTEMPTY.
 * A runner that is gone too records nothing, so the wait is bounded.
 */
async function runnersRecorded(tmpDir: string): Promise<void> {
  const pending = () =>
    instanceDirs(tmpDir).filter(
      (s) => existsSync(path.join(tmpDir, s, 'pid.json')) && !existsSync(path.join(tmpDir, s, 'exit.json')),
    );
  for (const deadline = Date.now() + 3000; pending().length > 0 && Date.now() < deadline; )
    await new Promise((r) => setTimeout(r, 50));
}

/** The state file a process-engine temp dir names (engine/process.ts), wherever its checkout is. */
function ownerStateFile(tmpDir: string): string | undefined {
  try {
    return (JSON.parse(readFileSync(path.join(tmpDir, RUN_OWNER_FILE), 'utf8')) as { stateFile?: string })
      .stateFile;
  } catch {
    return undefined;
  }
}

/**
 * Removes a dead run: through its engine when its state is known (a graceful stop, then
 * everything it created), and by label and path for whatever is left without one.
 */
export async function reapRun(config: ToolkitConfig, verdict: RunVerdict, log: Log): Promise<void> {
  const store = new StateStore(config.stateDir);
  const state = store.load(verdict.runId);
  if (state) {
    try {
      await (await engineFor(config, state)).down();
    } catch (err) {
      log(
        `  ${verdict.runId}: its engine could not take it down (${(err as Error).message}); removing what is left`,
      );
    }
  }
  const endpoint = dockerEndpoint(config.env);
  if (await daemonAnswers(endpoint)) await removeByLabel(endpoint.docker, `${RUN_LABEL}=${verdict.runId}`);
  for (const { runId, dir } of runTmpDirs(config.env)) {
    if (runId !== verdict.runId) continue;
    for (const pid of childPids(dir)) killGroup(pid);
    await runnersRecorded(dir);
    try {
      rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
    } catch (err) {
      log(
        `  ${verdict.runId}: ${dir} could not be removed (${(err as Error).message}); \`npx realstack cleanup\` tries again`,
      );
    }
  }
  store.remove(verdict.runId);
}

/**
 * Before a new stack starts: runs whose owner is gone or that nothing records are reaped. Age
 * alone is no reason here: a stack kept by `up` is only removed on request (`test-cleanup`).
 */
export async function reapOrphans(config: ToolkitConfig, log: Log): Promise<void> {
  await reapDead(config, await surveyRuns(config, Number.POSITIVE_INFINITY), log);
}

/** Reaps each dead run of a survey, saying which and why; returns those it reaped. */
export async function reapDead(config: ToolkitConfig, runs: RunVerdict[], log: Log): Promise<RunVerdict[]> {
  const dead = runs.filter((r) => r.dead);
  for (const verdict of dead) {
    log(`reaping run ${verdict.runId}: ${verdict.reason}`);
    await reapRun(config, verdict, log);
  }
  return dead;
}
