import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';

const SOURCE = /\.(m?[jt]sx?|c[jt]s)$/;

/**
 * The JavaScript and TypeScript files of a folder a project wrote (not node_modules, dot folders
 * or coverage), six levels deep at most, the first `limit` of them in name order: what init reads.
 */
export function sourceFiles(root: string, limit = 2000): string[] {
  const found: string[] = [];
  const walk = (dir: string, depth: number) => {
    if (depth > 6 || found.length >= limit) return;
    let entries: string[];
    try {
      entries = readdirSync(dir).sort();
    } catch {
      return;
    }
    for (const e of entries) {
      if (e === 'node_modules' || e.startsWith('.') || e === 'coverage') continue;
      const p = path.join(dir, e);
      const st = statSync(p, { throwIfNoEntry: false });
      if (st?.isDirectory()) walk(p, depth + 1);
      else if (st && SOURCE.test(e) && st.size < 512 * 1024 && found.length < limit) found.push(p);
    }
  };
  walk(root, 0);
  return found;
}
