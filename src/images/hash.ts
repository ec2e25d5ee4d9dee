import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import dockerignoreModule, { type Ignore } from '@balena/dockerignore';

/**
 * A content hash over files and directories (walked in sorted order) and strings. Paths enter
 * it relative to `base`, so that the same tree in two checkouts hashes the same.
 */
export function hashInputs(parts: { base?: string; files?: string[]; values?: string[] }): string {
  const h = createHash('sha256');
  const base = parts.base ?? process.cwd();
  const walk = (p: string) => {
    let st: ReturnType<typeof statSync>;
    try {
      st = statSync(p);
    } catch {
      h.update(`missing:${path.relative(base, p)}\0`);
      return;
    }
    if (st.isDirectory()) {
      for (const e of readdirSync(p).sort()) walk(path.join(p, e));
    } else {
      h.update(`${path.relative(base, p)}\0`);
      h.update(readFileSync(p));
    }
  };
  for (const f of parts.files ?? []) walk(f);
  for (const v of parts.values ?? []) h.update(`${v}\0`);
  return h.digest('hex').slice(0, 16);
}

/**
 * The hash of what `docker build` sends of a context: every file .dockerignore lets through.
 * A folder is passed over whole when it is ignored and no `!` pattern could bring part of it
 * back, so that an ignored node_modules costs nothing.
 */
export function hashContext(context: string): string {
  const ignoreFile = path.join(context, '.dockerignore');
  const patterns = existsSync(ignoreFile)
    ? readFileSync(ignoreFile, 'utf8')
        .split(/\r?\n/)
        .map((l) => l.trim())
        .filter((l) => l && !l.startsWith('#'))
    : [];
  const ig = (dockerignoreModule as unknown as (o: { ignorecase: boolean }) => Ignore)({
    ignorecase: false,
  }).add(patterns);
  const negations = patterns.filter((p) => p.startsWith('!')).map((p) => p.slice(1).replace(/^\/+/, ''));
  const mayComeBack = (dir: string) =>
    negations.some(
      (n) => n.includes('**') || n.startsWith(`${dir}/`) || dir.startsWith(`${n}/`) || n === dir,
    );
  const h = createHash('sha256');
  const walk = (rel: string) => {
    const abs = path.join(context, rel);
    const st = statSync(abs, { throwIfNoEntry: false });
    if (!st) return;
    if (st.isDirectory()) {
      if (rel && ig.ignores(rel) && !mayComeBack(rel)) return;
      for (const e of readdirSync(abs).sort()) walk(rel ? `${rel}/${e}` : e);
    } else if (!ig.ignores(rel)) {
      h.update(`${rel}\0`);
      h.update(readFileSync(abs));
    }
  };
  walk('');
  return h.digest('hex').slice(0, 16);
}
