import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { countByLabel, dockerEndpoint, RUN_LABEL } from '../../src/engine/docker.js';
import { runTmpDirs } from '../../src/engine/run-dirs.js';
import type { RunState } from '../../src/stack/state.js';
import { isAlive, statFields } from '../../src/util/pid.js';
import { type Running, root } from './cli.js';

/** A run's state file, in this repository's project or another's (`projectDir`). */
export const stateFile = (runId: string, projectDir = root) =>
  path.join(projectDir, '.realstack', 'runs', runId, 'state.json');

export function readState(runId: string, projectDir = root): RunState | undefined {
  const file = stateFile(runId, projectDir);
  return existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as RunState) : undefined;
}

/**
 * The process engine's runners started by a command of run `runId`, found by the environment
 * they inherit from it: those a launch took, and those started ahead that none did
 * (src/engine/runner-pool.ts).
 */
function runnersOf(runId: string): number[] {
  const pids: number[] = [];
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
      if (!argv[1]?.endsWith('/engine/runner.js') || !isAlive(Number(pid))) continue;
      if (readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0').includes(`REALSTACK_RUN_ID=${runId}`))
        pids.push(Number(pid));
    } catch {
      // Gone while we looked.
    }
  }
  return pids;
}

/** What a run left behind: containers, networks, volumes, processes, temp dirs, state. */
export async function leftovers(runId: string, pids: number[] = [], projectDir = root): Promise<string[]> {
  const found: string[] = [];
  if (existsSync(path.dirname(stateFile(runId, projectDir)))) found.push('state dir');
  for (const pid of new Set([...pids, ...runnersOf(runId)])) if (isAlive(pid)) found.push(`process ${pid}`);
  for (const d of runTmpDirs(process.env)) if (d.runId === runId) found.push(`temp dir ${d.dir}`);
  const { docker } = dockerEndpoint(process.env);
  const n = await countByLabel(docker, `${RUN_LABEL}=${runId}`).catch(() => 0);
  if (n > 0) found.push(`${n} docker resources`);
  return found;
}

/** The folder a process-engine run keeps its files in (src/engine/run-dirs.ts), from its state. */
export const runDir = (state: RunState | undefined): string | undefined =>
  (state?.detail as { tmpDir?: string } | undefined)?.tmpDir;

/** The service process a runner supervises, once the runner has started it (its pid.json). */
const servicePid = (instanceDir: string): number | undefined => {
  const file = path.join(instanceDir, 'pid.json');
  return existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as { pid: number }).pid : undefined;
};

const recorded = (state: RunState | undefined) =>
  (state?.detail.processes as { name: string; pid: number; dir: string }[] | undefined) ?? [];

/** A process-engine instance (`api-1`): its folder and its service process, from the run's state. */
export function instanceOf(
  state: RunState | undefined,
  name: string,
): { dir: string; pid: number | undefined } | undefined {
  const p = recorded(state).find((x) => x.name === name);
  return p && { dir: p.dir, pid: servicePid(p.dir) };
}

/** The pids of a process-engine run: each runner and the service process it supervises. */
export function processPids(state: RunState | undefined): number[] {
  return recorded(state).flatMap((p) => {
    const child = servicePid(p.dir);
    return child === undefined ? [p.pid] : [p.pid, child];
  });
}

/**
 * Kills a `realstack test` as a crash would, leaving its stack behind: the CLI, and tap's process
 * group (a group of its own), found through the pid its waiting test file wrote to `marker`.
 */
export async function crash(child: Running, marker: string): Promise<void> {
  const tapGroup = Number(statFields(readFileSync(marker, 'utf8'))?.[2]);
  child.kill('SIGKILL');
  process.kill(-tapGroup, 'SIGKILL');
  await child;
}
