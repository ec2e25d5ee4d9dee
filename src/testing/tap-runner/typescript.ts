import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';

/** The extensions tap's typescript plugin adds, for which a test process needs its loader. */
export const TYPESCRIPT_FILE = /\.(ts|cts|mts|tsx|jsx)$/i;

/** Where tap's typescript plugin looks for its settings, in this order (TAP_TSCONFIG aside). */
const TSCONFIGS = ['tsconfig.tap.json', 'tsconfig.test.json', 'tsconfig.spec.json', 'tsconfig.json'];

/** Packages that a project whose JavaScript imports TypeScript depends on. */
const TYPESCRIPT_PACKAGES = ['typescript', 'ts-node', 'tsx', '@tapjs/typescript'];

/**
 * Whether the project shows TypeScript anywhere a JavaScript test could reach it: a tsconfig tap
 * would read, a TypeScript package among its dependencies, or tap settings that speak of it. Then
 * every test process keeps tap's TypeScript loader; without any, only those of TypeScript files
 * do (./test-spawn.ts), and a JavaScript test starts about a second of CPU sooner
 * (docs/performance.md).
 */
export function showsTypeScript(
  projectDir: string,
  tapSettings: Record<string, unknown>,
  env: Record<string, string | undefined>,
): boolean {
  if (env.TAP_TSCONFIG || env.TAP_TYPECHECK === '1') return true;
  if ('typecheck' in tapSettings || 'tsconfig' in tapSettings) return true;
  const plugins = Array.isArray(tapSettings.plugin) ? tapSettings.plugin.map(String) : [];
  if (plugins.includes('@tapjs/typescript')) return true;
  if (TSCONFIGS.some((f) => existsSync(path.join(projectDir, f)))) return true;
  let pkg: Record<string, unknown> = {};
  try {
    pkg = JSON.parse(readFileSync(path.join(projectDir, 'package.json'), 'utf8')) as Record<string, unknown>;
  } catch {
    // No package.json (or not JSON): nothing in it names TypeScript.
  }
  return ['dependencies', 'devDependencies', 'optionalDependencies', 'peerDependencies'].some((field) => {
    const deps = pkg[field];
    return typeof deps === 'object' && deps !== null && TYPESCRIPT_PACKAGES.some((p) => p in deps);
  });
}
