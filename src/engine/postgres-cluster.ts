import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { UserError } from '../errors.js';
import type { PostgresSettings } from '../stack/postgres-settings.js';
import { chownTree } from './postgres-binaries.js';
import { memoryRoot } from './run-dirs.js';

type RunAs = { uid: number; gid: number } | undefined;

/** How every cluster is initialised; part of the template's key, so a change here makes a new one. */
// 1 MB WAL segments instead of 16: a smaller template to copy, and nothing here writes much.
const INITDB_ARGS = ['-E', 'UTF8', '--no-locale', '--wal-segsize=1'];

/**
 * What a cluster is made for: its superuser, that user's password (none where the method is
 * `trust`), the database it serves, how connections authenticate (it listens on 127.0.0.1 only),
 * and what the compose file asks of initdb (its arguments, the time zone).
 */
export type ClusterSpec = Pick<
  PostgresSettings,
  'user' | 'password' | 'database' | 'auth' | 'initdbArgs' | 'timezone'
>;

// The spec's fields alone, in a fixed order: the settings passed in carry others (`unreadable`).
const specKey = ({ user, password, database, auth, initdbArgs, timezone }: ClusterSpec) => [
  user,
  password,
  database,
  auth,
  initdbArgs,
  timezone ?? null,
];

const TEMPLATE_PREFIX = 'realstack-pgdata-';
/** How many templates stay whatever their age: one per project and settings in daily use. */
const KEEP_TEMPLATES = 4;
/** A template used this recently may be being copied: never removed. */
const IN_USE_MS = 10 * 60_000;

/**
 * Where templates are kept: in memory, as runs are (run-dirs.ts), where the machine has it to
 * spare. A run copies 1 270 files of one, and a copy out of a tmpfs took a third of the time of
 * one out of the temp dir's disk, in its cache or not (0.06 s against 0.17 s).
 */
export const templateRoot = (): string => memoryRoot() ?? os.tmpdir();

/**
 * A template cluster per PostgreSQL build and cluster spec: `initdb` and a CREATE DATABASE take
 * over a second on two cores, copying their result a tenth of that, and every run wants the same
 * empty cluster. The password is part of the key, never of the name.
 */
function templateDir(bin: string, spec: ClusterSpec, runAs: RunAs): string {
  const postgres = statSync(path.join(bin, 'postgres'));
  const key = createHash('sha256')
    .update(
      JSON.stringify([path.resolve(bin), postgres.size, postgres.mtimeMs, specKey(spec), INITDB_ARGS, runAs]),
    )
    .digest('hex')
    .slice(0, 16);
  return path.join(templateRoot(), `${TEMPLATE_PREFIX}${key}`);
}

/**
 * Beside each template, the PostgreSQL build it was made by; its mtime is the template's last
 * use. A template is 25 to 30 MB, and every build, settings and password makes another (a test
 * suite's projects, each with passwords of its own, made 200 on one machine in two days).
 */
interface TemplateMark {
  postgres: string;
  size: number;
  mtimeMs: number;
}

function markTemplate(bin: string, template: string) {
  const postgres = path.resolve(bin, 'postgres');
  const { size, mtimeMs } = statSync(postgres);
  writeFileSync(
    `${template}.json`,
    `${JSON.stringify({ postgres, size, mtimeMs } satisfies TemplateMark)}\n`,
  );
}

/** No run can want it again: the PostgreSQL build it was made by is gone or was replaced. */
function orphaned(mark: string): boolean {
  try {
    const made = JSON.parse(readFileSync(mark, 'utf8')) as TemplateMark;
    const now = statSync(made.postgres);
    return now.size !== made.size || now.mtimeMs !== made.mtimeMs;
  } catch {
    return true;
  }
}

/**
 * Keeps the templates bounded, when a new one has just been made: those no build can want
 * again go, then all but the most recently used, except any used in the last minutes. A
 * template made by an earlier realstack has no mark, and its folder's age stands for its use;
 * the work folder of an initdb that never finished goes once it is old.
 */
export function pruneTemplates(dir: string, now = Date.now()): string[] {
  const stat = (p: string) => {
    try {
      return statSync(p);
    } catch {
      return undefined;
    }
  };
  // A template's folder, or an initdb's work folder beside it (mkdtemp's six characters).
  const name = new RegExp(`^${TEMPLATE_PREFIX}[0-9a-f]{16}(\\.[A-Za-z0-9]{6})?$`);
  const found = readdirSync(dir).flatMap((entry) => {
    const m = name.exec(entry);
    if (!m) return [];
    const folder = path.join(dir, entry);
    const mark = stat(`${folder}.json`);
    const usedAt = (mark ?? stat(folder))?.mtimeMs ?? 0;
    return [{ folder, work: m[1] !== undefined, usedAt, orphaned: !!mark && orphaned(`${folder}.json`) }];
  });
  const recent = found
    .filter((t) => !t.work && !t.orphaned)
    .sort((a, b) => b.usedAt - a.usedAt)
    .slice(0, KEEP_TEMPLATES);
  const gone = found.filter((t) => t.orphaned || (!recent.includes(t) && now - t.usedAt > IN_USE_MS));
  for (const t of gone) {
    rmSync(t.folder, { recursive: true, force: true });
    rmSync(`${t.folder}.json`, { force: true });
  }
  return gone.map((t) => t.folder);
}

/**
 * Runs initdb and creates the database (in single-user mode: no server, no port) in a fresh
 * folder, then moves it into place whole: a reader never sees half of one.
 */
async function initTemplate(bin: string, target: string, spec: ClusterSpec, runAs: RunAs) {
  const work = mkdtempSync(`${target}.`);
  const data = path.join(work, 'data');
  const pwfile = path.join(work, 'pwfile');
  // initdb refuses an empty password file: a database that asks for none gets none.
  if (spec.password) writeFileSync(pwfile, spec.password);
  if (runAs) chownTree(work, runAs);
  const as = { ...(runAs ?? {}), all: true, env: spec.timezone ? { TZ: spec.timezone } : {} };
  // Loaded for the first cluster of a version and settings only: every later run copies it.
  const { execa } = await import('execa');
  try {
    await execa(
      path.join(bin, 'initdb'),
      [
        ...['-D', data, '-U', spec.user, '-A', spec.auth, ...INITDB_ARGS],
        ...(spec.password ? [`--pwfile=${pwfile}`] : []),
        // The compose file's last, so that theirs win, as in the image.
        ...spec.initdbArgs,
      ],
      as,
    );
    if (spec.database !== 'postgres') {
      const create = await execa(
        path.join(bin, 'postgres'),
        ['--single', '-D', data, '-c', 'fsync=off', 'postgres'],
        {
          ...as,
          input: `CREATE DATABASE "${spec.database.replaceAll('"', '""')}"\n`,
        },
      );
      // Single-user mode reports a failed statement and still exits 0.
      if (/\bERROR:/.test(create.all ?? '')) throw Object.assign(new Error('CREATE DATABASE failed'), create);
    }
    try {
      renameSync(data, target);
      markTemplate(bin, target);
    } catch (err) {
      // Another run made the same template first: theirs is as good as ours.
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'ENOTEMPTY' && code !== 'EEXIST') throw err;
    }
  } catch (err) {
    const out = (err as { all?: string }).all ?? (err as Error).message;
    throw new UserError(
      `initdb or CREATE DATABASE failed for the process engine's PostgreSQL (${bin}):\n${out.slice(-2000)}`,
    );
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/**
 * Makes `data` a new PostgreSQL cluster for `spec`, its database empty: a copy of the template,
 * which is made the first time it is wanted.
 */
export async function freshCluster(
  bin: string,
  data: string,
  spec: ClusterSpec,
  runAs: RunAs,
): Promise<void> {
  const template = templateDir(bin, spec, runAs);
  if (!existsSync(path.join(template, 'PG_VERSION'))) {
    await initTemplate(bin, template, spec, runAs);
    // Both places: templates an earlier realstack, or a machine short of memory, left on disk.
    for (const dir of new Set([templateRoot(), os.tmpdir()])) pruneTemplates(dir);
  }
  // Its last use: what pruneTemplates keeps the most recent by.
  const now = new Date();
  try {
    utimesSync(`${template}.json`, now, now);
  } catch {
    markTemplate(bin, template);
  }
  // cp keeps owners and modes (PostgreSQL refuses a data directory others may read) and takes
  // half the time of fs.cpSync; node's execFile, since loading execa would cost as much again.
  const copy = () => promisify(execFile)('cp', ['-Rp', template, data]);
  await copy().catch(async (err) => {
    // Pruned by another run between the look and the copy (pruneTemplates): made again.
    if (existsSync(path.join(template, 'PG_VERSION'))) throw err;
    rmSync(data, { recursive: true, force: true });
    await initTemplate(bin, template, spec, runAs);
    await copy();
  });
}
