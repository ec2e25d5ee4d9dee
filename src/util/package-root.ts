import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

let found: string | undefined;

/**
 * The folder realstack is installed in (its own package.json): where coverage-spy/ and the
 * stand-in image definitions are, wherever the user's project is. Found by walking up from
 * this module, which sits at another depth when compiled (dist/src/util) than in the sources.
 */
export function packageRoot(): string {
  if (found) return found;
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const pkg = path.join(dir, 'package.json');
    if (
      existsSync(pkg) &&
      (JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string }).name === 'realstack'
    ) {
      found = dir;
      return dir;
    }
    const up = path.dirname(dir);
    if (up === dir) throw new Error('realstack cannot find its own package.json above its modules');
    dir = up;
  }
}

export const spyDir = () => path.join(packageRoot(), 'coverage-spy');
