import { cpSync, existsSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { UserError } from '../errors.js';

interface LockEntry {
  dev?: boolean;
  link?: boolean;
  resolved?: string;
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
}

interface Lockfile {
  packages: Record<string, LockEntry>;
}

/**
 * The installed packages a workspace needs at run time, found by walking package-lock.json
 * the way Node resolves modules (nearest node_modules first). Workspace links are followed
 * for their dependencies but not returned: their code ships as compiled dist/.
 */
export function productionClosure(lock: Lockfile, workspace: string): string[] {
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
    const deps = { ...entry.dependencies, ...entry.optionalDependencies };
    for (const dep of Object.keys(deps)) {
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

/** Copies a workspace's production packages from the host's install into `outDir`/node_modules. */
export function stageProductionModules(projectDir: string, workspace: string, outDir: string): number {
  const lockFile = path.join(projectDir, 'package-lock.json');
  if (!existsSync(lockFile))
    throw new UserError(`hostModules needs ${lockFile}: run \`npm install\` once to write it.`);
  const lock = JSON.parse(readFileSync(lockFile, 'utf8')) as Lockfile;
  const packages = productionClosure(lock, workspace);
  rmSync(path.join(outDir, 'node_modules'), { recursive: true, force: true });
  for (const pkg of packages) {
    const from = path.join(projectDir, pkg);
    if (!existsSync(from))
      throw new UserError(`${pkg} is in package-lock.json but not installed: run \`npm ci\``);
    const nested = path.join(from, 'node_modules');
    // Nested node_modules are copied as packages of their own, only when they are needed.
    cpSync(from, path.join(outDir, pkg), { recursive: true, filter: (src) => src !== nested });
  }
  return packages.length;
}
