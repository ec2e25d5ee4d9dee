import { cpSync, existsSync, mkdirSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import path from 'node:path';
import { UserError } from '../errors.js';

interface LockEntry {
  workspaces?: string[] | { packages?: string[] };
  name?: string;
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

/** Packages at their paths in package-lock.json, and the workspace links among them. */
export interface Closure {
  packages: string[];
  links: string[];
}

/**
 * The installed packages some packages of a lock need (the root `''`, workspace folders): at
 * run time, or with their dev tools too. Found by walking package-lock.json the way Node
 * resolves modules (nearest node_modules first). Peers count, as npm installs them; optional
 * ones only where installed. A workspace link is followed for its dependencies and returned
 * among `links`, with the links to the starting workspaces.
 */
export function packageClosure(
  lock: Lockfile,
  starts: string | string[],
  options: { dev?: boolean } = {},
): Closure {
  const from = typeof starts === 'string' ? [starts] : starts;
  const found = new Set<string>();
  const links = new Set<string>();
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
    if (entry.link && entry.resolved) {
      links.add(key);
      return visit(entry.resolved);
    }
    if (key.includes('node_modules/')) found.add(key);
    const peers = Object.keys(entry.peerDependencies ?? {}).filter(
      (p) => !entry.peerDependenciesMeta?.[p]?.optional,
    );
    const deps = [
      ...Object.keys({ ...entry.dependencies, ...entry.optionalDependencies }),
      ...peers,
      ...(options.dev && from.includes(key) ? Object.keys(entry.devDependencies ?? {}) : []),
    ];
    for (const dep of deps) {
      const target = resolve(dep, key);
      // A missing optional dependency (another platform's binary) is normal.
      if (target) visit(target);
    }
  };
  for (const start of from) {
    if (!lock.packages[start])
      throw new UserError(
        `package-lock.json has no package "${start}" (hostModules in realstack.json): name the folder of the package whose dependencies the image needs, as package-lock.json lists it, or "." for the project itself.`,
      );
    visit(start);
  }
  // npm links each workspace it installs, the ones asked for too.
  for (const [key, entry] of Object.entries(lock.packages))
    if (entry.link && entry.resolved && from.includes(entry.resolved)) links.add(key);
  return { packages: [...found].sort(), links: [...links].sort() };
}

/** The workspace folders of a lock (`apps/api`), each with its package name. */
export function workspacesOf(lock: Lockfile): Map<string, string | undefined> {
  return new Map(
    Object.entries(lock.packages)
      .filter(([key, entry]) => key !== '' && !key.includes('node_modules/') && !entry.link)
      .map(([key, entry]) => [key, entry.name]),
  );
}

/** What a package.json's `bin` gives: command names and the files they run. */
function binsOf(pkgDir: string, name: string): [string, string][] {
  const file = path.join(pkgDir, 'package.json');
  if (!existsSync(file)) return [];
  const { bin } = JSON.parse(readFileSync(file, 'utf8')) as { bin?: string | Record<string, string> };
  if (typeof bin === 'string') return [[name.replace(/^@[^/]+\//, ''), bin]];
  return Object.entries(bin ?? {});
}

/** Where an install puts things, relative to the folder it runs in. */
export interface Layout {
  lockDir: string;
  lockFile: string;
  lock: Lockfile;
  /** Package folders: where each goes, and its path under lockDir. */
  packages: Map<string, string>;
  /** Workspace links: where each goes, and the workspace folder it points at. */
  links: Map<string, string>;
}

export function readLock(lockDir: string): { lockFile: string; lock: Lockfile } {
  const lockFile = path.join(lockDir, 'package-lock.json');
  if (!existsSync(lockFile))
    throw new UserError(`${lockFile} is missing: run \`npm install\` once in ${lockDir} to write it.`);
  return { lockFile, lock: JSON.parse(readFileSync(lockFile, 'utf8')) as Lockfile };
}

/**
 * The layout of `npm ci` in one workspace's folder alone (the lock's folder above it is not in
 * the image): its own nested packages and the hoisted ones side by side, its own winning, as
 * Node's resolution has it.
 */
export function folderLayout(lockDir: string, workspace: string, options: { dev?: boolean } = {}): Layout {
  const { lockFile, lock } = readLock(lockDir);
  const own = workspace ? `${workspace}/` : '';
  const packages = new Map<string, string>();
  for (const pkg of packageClosure(lock, workspace, options).packages) {
    const at = own && pkg.startsWith(own) ? pkg.slice(own.length) : pkg;
    if (!packages.has(at) || pkg.startsWith(own)) packages.set(at, pkg);
  }
  return { lockDir, lockFile, lock, packages, links: new Map() };
}

/**
 * The layout of `npm ci` in the lock's own folder, as package-lock.json gives it: the root's
 * packages, each workspace's nested ones in its folder, and links to the workspaces. `starts`
 * are the root (`''`) and the workspace folders it installs.
 */
export function lockLayout(
  lockDir: string,
  starts: string[],
  options: { dev?: boolean } = {},
  { lockFile, lock } = readLock(lockDir),
): Layout {
  const closure = packageClosure(lock, starts, options);
  return {
    lockDir,
    lockFile,
    lock,
    packages: new Map(closure.packages.map((p) => [p, p])),
    links: new Map(closure.links.map((l) => [l, lock.packages[l]?.resolved as string])),
  };
}

/** The node_modules folders a layout fills (`node_modules`, `apps/api/node_modules`). */
export function layoutFolders(layout: Layout): string[] {
  const top = (at: string) => at.slice(0, at.indexOf('node_modules') + 'node_modules'.length);
  return [...new Set([...layout.packages.keys(), ...layout.links.keys()].map(top))].sort();
}

/**
 * Copies a layout's packages from the host's install into `outDir`, with its workspace links
 * and node_modules/.bin for the commands of each folder's packages, as npm makes them.
 */
export function stageLayout(layout: Layout, outDir: string): number {
  const { lockDir, lockFile, lock } = layout;
  for (const folder of layoutFolders(layout))
    rmSync(path.join(outDir, folder), { recursive: true, force: true });
  const bins = (at: string, from: string) => {
    const i = at.lastIndexOf('node_modules/');
    const name = at.slice(i + 'node_modules/'.length);
    const bin = path.join(outDir, at.slice(0, i), 'node_modules', '.bin');
    for (const [command, file] of binsOf(from, name)) {
      mkdirSync(bin, { recursive: true });
      rmSync(path.join(bin, command), { force: true });
      symlinkSync(path.posix.join('..', name, file), path.join(bin, command));
    }
  };
  for (const [at, pkg] of layout.packages) {
    const from = path.join(lockDir, pkg);
    // An optional package npm skipped here (another platform's binary) is skipped in the image too.
    if (!existsSync(from) && lock.packages[pkg]?.optional) continue;
    if (!existsSync(from))
      throw new UserError(
        `${pkg} is in ${lockFile} but not installed: run \`npm ci\` in ${lockDir} (realstack copies what it installed).`,
      );
    const nested = path.join(from, 'node_modules');
    // Nested node_modules are copied as packages of their own, only when they are needed. A
    // package `npm link` put here is a link to a folder of this machine: its files go in instead.
    cpSync(from, path.join(outDir, at), {
      recursive: true,
      dereference: true,
      filter: (src) => src !== nested,
    });
    bins(at, from);
  }
  for (const [at, target] of layout.links) {
    mkdirSync(path.dirname(path.join(outDir, at)), { recursive: true });
    symlinkSync(path.posix.relative(path.posix.dirname(at), target), path.join(outDir, at));
    bins(at, path.join(lockDir, target));
  }
  return layout.packages.size + layout.links.size;
}

/**
 * Copies the packages a workspace installs (run-time ones, or all with `dev`) from the host's
 * install under `lockDir` into `outDir`/node_modules, laid out as `npm ci` lays them out in that
 * folder alone.
 */
export function stageInstall(
  lockDir: string,
  workspace: string,
  outDir: string,
  options: { dev?: boolean } = {},
): number {
  return stageLayout(folderLayout(lockDir, workspace, options), outDir);
}
