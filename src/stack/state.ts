import { randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { EngineName } from '../engine/types.js';

/** What a run leaves on disk so that a later command (ps, logs, down) can find it again. */
export interface RunState {
  runId: string;
  engine: EngineName;
  /** Compose project name (docker) and label value on every resource. */
  project: string;
  files: string[];
  startedAt: string;
  /**
   * The process the stack lives and dies with (`just test` on a fresh stack), or null for a
   * stack kept until `down` (`just up`). The reaper takes a run whose owner is gone as dead.
   */
  ownerPid: number | null;
  /** Per-engine details: the process engine's pids, ports, temp dir. */
  detail: Record<string, unknown>;
}

export function newRunId(): string {
  return `${Date.now().toString(36)}${randomBytes(3).toString('hex')}`;
}

export class StateStore {
  constructor(readonly root: string) {}

  private runDir(runId: string): string {
    return path.join(this.root, 'runs', runId);
  }

  /** Where a run's state is kept: the docker engine labels every resource with it. */
  file(runId: string): string {
    return path.join(this.runDir(runId), 'state.json');
  }

  dir(runId: string): string {
    const dir = this.runDir(runId);
    mkdirSync(dir, { recursive: true });
    return dir;
  }

  save(state: RunState): void {
    this.dir(state.runId);
    const file = this.file(state.runId);
    // Write then rename: a reader never sees half a file.
    writeFileSync(`${file}.tmp`, `${JSON.stringify(state, null, 2)}\n`);
    renameSync(`${file}.tmp`, file);
  }

  load(runId: string): RunState | undefined {
    try {
      return JSON.parse(readFileSync(this.file(runId), 'utf8')) as RunState;
    } catch {
      return undefined;
    }
  }

  remove(runId: string): void {
    rmSync(this.runDir(runId), { recursive: true, force: true });
    if (this.current() === runId) rmSync(path.join(this.root, 'current'), { force: true });
  }

  all(): RunState[] {
    let ids: string[] = [];
    try {
      ids = readdirSync(path.join(this.root, 'runs'));
    } catch {}
    return ids.map((id) => this.load(id)).filter((s): s is RunState => s !== undefined);
  }

  /** The run that `realstack up` started last: what ps, logs and down act on by default. */
  current(): string | undefined {
    try {
      return readFileSync(path.join(this.root, 'current'), 'utf8').trim() || undefined;
    } catch {
      return undefined;
    }
  }

  setCurrent(runId: string): void {
    mkdirSync(this.root, { recursive: true });
    writeFileSync(path.join(this.root, 'current'), `${runId}\n`);
  }
}
