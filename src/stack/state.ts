import { randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { writeFileWhole } from '../util/files.js';
import type { StackSpec } from './spec.js';

export type EngineName = 'docker' | 'process' | 'external';

/** What a run leaves on disk so that a later command (ps, logs, down) can find it again. */
export interface RunState {
  runId: string;
  engine: EngineName;
  /** Compose project name (docker) and label value on every resource. */
  project: string;
  files: string[];
  /**
   * The stack as the run started it (profiles, ports, the coverage overlay): later commands
   * act on this, not on compose files that may have changed since.
   */
  stack: StackSpec;
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

/** A run's state file, wherever it is (another checkout's too), or undefined if unreadable. */
export function readRunState(file: string): RunState | undefined {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as RunState;
  } catch {
    return undefined;
  }
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
    writeFileWhole(this.file(state.runId), `${JSON.stringify(state, null, 2)}\n`);
  }

  load(runId: string): RunState | undefined {
    return readRunState(this.file(runId));
  }

  /**
   * Forgets a run. When it was the current one (a `test` on a fresh stack while an `up` kept
   * another), the newest stack still kept by `up` becomes current again, so that `ps`, `down`
   * and the next `test` find it rather than leave it running unseen.
   */
  remove(runId: string): void {
    rmSync(this.runDir(runId), { recursive: true, force: true });
    if (this.current() !== runId) return;
    const kept = this.all()
      .filter((s) => s.ownerPid === null && s.engine !== 'external')
      .sort((a, b) => a.startedAt.localeCompare(b.startedAt))
      .at(-1);
    if (kept) this.setCurrent(kept.runId);
    else rmSync(path.join(this.root, 'current'), { force: true });
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
