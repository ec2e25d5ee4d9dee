import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';

/** Column names tests most often fill with a name of their own, best first. */
const LIKELY = ['email', 'username', 'name', 'title', 'slug', 'label'];
const TEXT = /^(text|citext|varchar|character\s+varying|char|character)\b/i;

/**
 * A table and text column that `sqlCleanup` could name, read from the `CREATE TABLE` statements
 * of a PostgreSQL service's init scripts (`*.sql`, `*.sql.gz` mounted in
 * /docker-entrypoint-initdb.d): the first table with a text column, that column one of LIKELY
 * when it has one. A column that is a key (`id ... PRIMARY KEY`) is not a test's name.
 */
export function cleanupColumnIn(
  files: string[],
): { table: string; column: string; file: string } | undefined {
  for (const file of files) {
    let sql: string;
    try {
      const raw = readFileSync(file);
      sql = (file.endsWith('.gz') ? gunzipSync(raw) : raw).toString('utf8');
    } catch {
      continue;
    }
    sql = sql.replace(/--[^\n]*/g, '').replace(/\/\*[\s\S]*?\*\//g, '');
    const create = /create\s+(?:unlogged\s+)?table\s+(?:if\s+not\s+exists\s+)?((?:"?\w+"?\.)?"?\w+"?)\s*\(/gi;
    for (let m = create.exec(sql); m; m = create.exec(sql)) {
      const body = columnsOf(sql, create.lastIndex);
      const text = body
        .map((def) => def.trim().match(/^"?(\w+)"?\s+(.*)$/s))
        .filter((d): d is RegExpMatchArray => d !== null)
        .filter(([, , type]) => TEXT.test(type as string) && !/primary\s+key/i.test(type as string))
        .map(([, name]) => name as string)
        .filter((name) => !/^(constraint|primary|unique|foreign|check|exclude)$/i.test(name));
      const column = LIKELY.find((c) => text.includes(c)) ?? text[0];
      if (column) return { table: (m[1] as string).replaceAll('"', ''), column, file };
    }
  }
  return undefined;
}

/** The comma-separated definitions of a CREATE TABLE from just after its "(", to its ")". */
function columnsOf(sql: string, from: number): string[] {
  const defs: string[] = [];
  let depth = 0;
  let start = from;
  for (let i = from; i < sql.length; i++) {
    const c = sql[i];
    if (c === '(') depth++;
    else if (c === ')' && depth > 0) depth--;
    else if (c === ')' || (c === ',' && depth === 0)) {
      defs.push(sql.slice(start, i));
      start = i + 1;
      if (c === ')') break;
    }
  }
  return defs;
}
