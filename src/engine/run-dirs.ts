import { accessSync, constants, readdirSync, statfsSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { UserError } from '../errors.js';

/** A run's temp dir is `<root>/realstack-run-<run id>-XXXXXX`: how the reaper recognises one. */
export const RUN_TMP_PREFIX = 'realstack-run-';

const runOfTmpDir = (entry: string): string | undefined =>
  entry.startsWith(RUN_TMP_PREFIX)
    ? /^(.+)-[A-Za-z0-9]{6}$/.exec(entry.slice(RUN_TMP_PREFIX.length))?.[1]
    : undefined;

const MEMORY = '/dev/shm';
const TMPFS_MAGIC = 0x01021994;
/** Room a run may need there: PostgreSQL's data, logs, the services' coverage dumps. */
const MEMORY_ROOM = 1024 ** 3;

/**
 * Where the process engine keeps a new run's files (PostgreSQL's data, logs, coverage dumps):
 * REALSTACK_RUN_DIR if set; else the machine's memory (/dev/shm, a tmpfs) when it has a GiB free;
 * else the temp dir. On a disk a run's copy of PostgreSQL's cluster waited on the writes and
 * discards of the run before it (up to 1 s of a 2.4 s `up`, docs/performance.md), and the data is
 * thrown away with the run anyway.
 */
export function runDirRoot(env: NodeJS.ProcessEnv): string {
  const asked = env.REALSTACK_RUN_DIR;
  if (asked) {
    try {
      accessSync(asked, constants.W_OK);
      if (statSync(asked).isDirectory()) return path.resolve(asked);
    } catch {
      // said below
    }
    throw new UserError(
      `REALSTACK_RUN_DIR=${asked} is not a folder this user can write: the process engine keeps each run's files (PostgreSQL's data, logs, coverage dumps) there. Create it, or unset REALSTACK_RUN_DIR to use /dev/shm or the temp dir.`,
    );
  }
  return memoryRoot() ?? os.tmpdir();
}

/** The machine's memory (/dev/shm) when it is a tmpfs this user can write with a GiB free. */
export function memoryRoot(): string | undefined {
  try {
    const memory = statfsSync(MEMORY);
    accessSync(MEMORY, constants.W_OK);
    if (memory.type === TMPFS_MAGIC && memory.bavail * memory.bsize >= MEMORY_ROOM) return MEMORY;
  } catch {
    // no /dev/shm here (macOS), or not ours to write
  }
  return undefined;
}

/** Every run's temp dir on this machine, wherever a run of any setting put it. */
export function runTmpDirs(env: NodeJS.ProcessEnv): { runId: string; dir: string }[] {
  const asked = env.REALSTACK_RUN_DIR ? [path.resolve(env.REALSTACK_RUN_DIR)] : [];
  return [...new Set([...asked, MEMORY, os.tmpdir()])].flatMap((root) => {
    let entries: string[];
    try {
      entries = readdirSync(root);
    } catch {
      return []; // not on this machine (/dev/shm on macOS), or not ours to read
    }
    return entries.flatMap((entry) => {
      const runId = runOfTmpDir(entry);
      return runId ? [{ runId, dir: path.join(root, entry) }] : [];
    });
  });
}
