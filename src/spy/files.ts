import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

/** What the spy writes beside the dumps (coverage-spy/index.cjs), one file per process. */
export interface SpyMeta {
  service: string;
  instance: string;
  host: string;
  pid: number;
  /** The main script, relative to the source root. */
  script?: string;
  /** Not one of the service's entry scripts (REALSTACK_ENTRY): a migration, npm, a probe. */
  helper?: boolean;
  /** The entry process that started it (`child_process.fork`): its work is the service's. */
  startedBy?: number;
  sourceRoot: string;
  startedAt: string;
  snapshots: string[];
  stop: null | { signal?: string; how: string; exitCode?: number; stoppedAt?: string };
}

export const isMetaFile = (f: string) => f.startsWith('realstack-meta-') && f.endsWith('.json');

/** V8's own name for a dump: coverage-PID-TIMESTAMP-THREAD.json. */
export const DUMP_FILE = /^coverage-(\d+)-\d+-\d+\.json$/;

/** The metadata files of one process's (or container's) coverage directory. */
export function readMetas(dir: string): SpyMeta[] {
  let files: string[];
  try {
    files = readdirSync(dir);
  } catch {
    return [];
  }
  return files.filter(isMetaFile).flatMap((f) => {
    try {
      return [JSON.parse(readFileSync(path.join(dir, f), 'utf8')) as SpyMeta];
    } catch {
      return [];
    }
  });
}
