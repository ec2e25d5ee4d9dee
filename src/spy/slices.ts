import { chmodSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { writeFileWhole } from '../util/files.js';

/**
 * The host's half of the spy's slice channel (coverage-spy/index.cjs): one folder, mounted
 * into every instrumented container and named to every process, that holds
 *   control.json            written here: a sequence number and the test that just ended;
 *   spy-HOST-PID.json       one per process of a service: the last slice it took, and its stop;
 *   slice-HOST-PID-SEQ.json what that process ran for one test, its own scripts only.
 */
export const SLICE_MOUNT = '/tmp/realstack-slices';

/** The slice of the services' start, before the first test: attributed to no test. */
export const STARTUP = '(startup)';

export interface Slice {
  seq: number;
  /** The test file (relative to the project) whose run the slice covers, or STARTUP. */
  id: string;
  service: string;
  instance: string;
  pid: number;
  sourceRoot: string;
  takenAt: string;
  result: { url: string; [key: string]: unknown }[];
}

interface SpyRecord {
  service: string;
  instance: string;
  pid: number;
  lastSeq: number;
  stoppedAt: string | null;
}

/** An empty slice folder, writable by a service running as any user in its container. */
export function openSliceDir(dir: string): string {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  chmodSync(dir, 0o777);
  return dir;
}

function readJsonFiles<T>(dir: string, prefix: string): T[] {
  let files: string[];
  try {
    files = readdirSync(dir).filter((f) => f.startsWith(prefix) && f.endsWith('.json'));
  } catch {
    return [];
  }
  return files.flatMap((f) => {
    try {
      return [JSON.parse(readFileSync(path.join(dir, f), 'utf8')) as T];
    } catch {
      // Being renamed into place right now: read at the next look.
      return [];
    }
  });
}

export const readSlices = (dir: string): Slice[] =>
  readJsonFiles<Slice>(dir, 'slice-').sort((a, b) => a.seq - b.seq || a.instance.localeCompare(b.instance));

/**
 * Draws a line between two tests: every running process of every instrumented service takes a
 * slice tagged `id` (what ran since the last line), and this waits until each has, so the
 * next test's requests cannot fall into this one's slice.
 */
export class SliceChannel {
  private seq = 0;
  /** Processes that missed a line once (killed without a stop, say): not waited for again. */
  private readonly silent = new Set<string>();

  constructor(
    readonly dir: string,
    private readonly timeoutMs = 10_000,
  ) {}

  /** Resolves with the processes that did not answer in time (their next slice holds the rest). */
  async boundary(id: string): Promise<string[]> {
    this.seq += 1;
    const seq = this.seq;
    writeFileWhole(path.join(this.dir, 'control.json'), JSON.stringify({ seq, id }));
    const deadline = Date.now() + this.timeoutMs;
    for (;;) {
      const waiting = readJsonFiles<SpyRecord>(this.dir, 'spy-').filter(
        (s) => s.stoppedAt === null && s.lastSeq < seq && !this.silent.has(`${s.instance}/${s.pid}`),
      );
      if (waiting.length === 0) return [];
      if (Date.now() > deadline) {
        for (const s of waiting) this.silent.add(`${s.instance}/${s.pid}`);
        return waiting.map((s) => `${s.instance} (pid ${s.pid})`);
      }
      await sleep(10);
    }
  }
}
