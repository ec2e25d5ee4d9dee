import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { countByLabel, dockerEndpoint, RUN_LABEL } from '../../src/engine/docker.js';
import { runTmpDirs } from '../../src/engine/run-dirs.js';
import type { RunState } from '../../src/stack/state.js';
import { isAlive } from '../../src/util/pid.js';
import { root } from './cli.js';

/** A run's state file, in this repository's project or another's (`projectDir`). */
export const stateFile = (runId: string, projectDir = root) =>
  path.join(projectDir, '.realstack', 'runs', runId, 'state.json');

export function readState(runId: string, projectDir = root): RunState | undefined {
  const file = stateFile(runId, projectDir);
  return existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as RunState) : undefined;
}

/** What a run left behind: containers, networks, volumes, processes, temp dirs, state. */
export async function leftovers(runId: string, pids: number[] = [], projectDir = root): Promise<string[]> {
  const found: string[] = [];
  if (existsSync(path.dirname(stateFile(runId, projectDir)))) found.push('state dir');
  for (const pid of pids) if (isAlive(pid)) found.push(`process ${pid}`);
  for (const d of runTmpDirs(process.env)) if (d.runId === runId) found.push(`temp dir ${d.dir}`);
  const { docker } = dockerEndpoint(process.env);
  const n = await countByLabel(docker, `${RUN_LABEL}=${runId}`).catch(() => 0);
  if (n > 0) found.push(`${n} docker resources`);
  return found;
}

/** The pids of a process-engine run: each runner and the service process it supervises. */
export function processPids(state: RunState | undefined): number[] {
  const processes = (state?.detail.processes as { pid: number; dir: string }[] | undefined) ?? [];
  return processes.flatMap((p) => {
    const child = path.join(p.dir, 'pid.json');
    return existsSync(child)
      ? [p.pid, (JSON.parse(readFileSync(child, 'utf8')) as { pid: number }).pid]
      : [p.pid];
  });
}
