import { cpSync, existsSync, mkdirSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import path from 'node:path';
import { UserError } from '../errors.js';

interface LockEntry {
  dev?: boolean;
  optional?: boolean;
  link?: boolean;
  resolved?: string;
  dependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  peerDependenciesMeta?: Record<string, { optional?: boolean }>;
}

export interface Lockfile {
  packages: Record<string, LockEntry>;
}

/**
 * The installed packages a workspace needs (at run time, or with its dev tools too), found by
 * walking package-lock.json the way Node resolves modules (nearest node_modules first). Peers
 * count, as npm installs them; optional ones only where installed. Workspace links are followed
 * for their dependencies but not returned: their code ships as compiled dist/.
 */
export function packageClosure(lock: Lockfile, workspace: string, options: { dev?: boolean } = {}): string[] {
  const found = new Set<string>();
  const visited = new Set<string>();
  const resolve = (dep: string, from: string): string | undefined => {
    let base = from;
    for (;;) {
      const candidate = base ? `${base}/node_modules/${dep}` : `node_modules/${dep}`;
      if (lock.packages[candidate]) return candidate;
      if (!base) return undefined;
      const i = base.lastIndexOf('/node_modules/');
      base = i >= 0 ? base.slice(0, i) : '';
    }
  };
  const visit = (key: string) => {
    if (visited.has(key)) return;
    visited.add(key);
    const entry = lock.packages[key];
    if (!entry) return;
    if (entry.link && entry.resolved) return visit(entry.resolved);
    if (key.includes('node_modules/')) found.add(key);
    const peers = Object.keys(entry.peerDependencies ?? {}).filter(
      (p) => !entry.peerDependenciesMeta?.[p]?.optional,
    );
    const deps = [
      ...Object.keys({ ...entry.dependencies, ...entry.optionalDependencies }),
      ...peers,
      ...(options.dev && key === workspace ? Object.keys(entry.devDependencies ?? {}) : []),
    ];
    for (const dep of deps) {
      const target = resolve(dep, key);
      // A missing optional dependency (another platform's binary) is normal.
      if (target) visit(target);
    }
  };
  if (!lock.packages[workspace])
    throw new UserError(
      `package-lock.json has no package "${workspace}" (hostModules in realstack.json): name the folder of the package whose dependencies the image needs, as package-lock.json lists it, or "." for the project itself.`,
    );
  visit(workspace);
  return [...found].sort();
}

/** What a package.json's `bin` gives: command names and the files they run. */
function binsOf(pkgDir: string, name: string): [string, string][] {
  const file = path.join(pkgDir, 'package.json');
  if (!existsSync(file)) return [];
  const { bin } = JSON.parse(readFileSync(file, 'utf8')) as { bin?: string | Record<string, string> };
  if (typeof bin === 'string') return [[name.replace(/^@[^/]+\//, ''), bin]];
  return Object.entries(bin ?? {});
}

/**
 * Copies the packages a workspace installs (run-time ones, or all with `dev`) from the host's
 * install under `lockDir` into `outDir`/node_modules, laid out as `npm ci` lays them out in that
 * folder alone: its own nested packages and the hoisted ones side by side (its own win, as
 * Node's resolution has it), and node_modules/.bin for the commands of the top-level ones.
 */
export function stageInstall(
  lockDir: string,
  workspace: string,
  outDir: string,
  options: { dev?: boolean } = {},
): number {
  const lockFile = path.join(lockDir, 'package-lock.json');
  if (!existsSync(lockFile))
    throw new UserError(`${lockFile} is missing: run \`npm install\` once in ${lockDir} to write it.`);
  const lock = JSON.parse(readFileSync(lockFile, 'utf8')) as Lockfile;
  const own = workspace ? `${workspace}/` : '';
  const placed = new Map<string, string>();
  for (const pkg of packageClosure(lock, workspace, options)) {
    const at = own && pkg.startsWith(own) ? pkg.slice(own.length) : pkg;
    if (!placed.has(at) || pkg.startsWith(own)) placed.set(at, pkg);
  }
  rmSync(path.join(outDir, 'node_modules'), { recursive: true, force: true });
  const bin = path.join(outDir, 'node_modules', '.bin');
  for (const [at, pkg] of placed) {
    const from = path.join(lockDir, pkg);
    // An optional package npm skipped here (another platform's binary) is skipped in the image too.
    if (!existsSync(from) && lock.packages[pkg]?.optional) continue;
    if (!existsSync(from))
      throw new UserError(
        `${pkg} is in ${lockFile} but not installed: run \`npm ci\` in ${lockDir} (realstack copies what it installed).`,
      );
    const nested = path.join(from, 'node_modules');
    // Nested node_modules are copied as packages of their own, only when they are needed.
    cpSync(from, path.join(outDir, at), { recursive: true, filter: (src) => src !== nested });
    const name = at.slice('node_modules/'.length);
    if (name.includes('/node_modules/')) continue;
    for (const [command, file] of binsOf(from, name)) {
      mkdirSync(bin, { recursive: true });
      rmSync(path.join(bin, command), { force: true });
      symlinkSync(path.posix.join('..', name, file), path.join(bin, command));
    }
  }
  return placed.size;
}
