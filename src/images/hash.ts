import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';

/** A content hash over files and directories (walked in sorted order, `skip` names left out) and strings. */
export function hashInputs(parts: { files?: string[]; values?: string[]; skip?: string[] }): string {
  const skip = new Set(parts.skip ?? []);
  const h = createHash('sha256');
  const walk = (p: string) => {
    let st: ReturnType<typeof statSync>;
    try {
      st = statSync(p);
    } catch {
      h.update(`missing:${p}\0`);
      return;
    }
    if (st.isDirectory()) {
      for (const e of readdirSync(p).sort()) if (!skip.has(e)) walk(path.join(p, e));
    } else {
      h.update(`${p}\0`);
      h.update(readFileSync(p));
    }
  };
  for (const f of parts.files ?? []) walk(f);
  for (const v of parts.values ?? []) h.update(`${v}\0`);
  return h.digest('hex').slice(0, 16);
}
