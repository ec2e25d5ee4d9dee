import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';

/** Column names tests most often fill with a name of their own, best first. */
const LIKELY = ['email', 'username', 'name', 'title', 'slug', 'label'];
const TEXT = /^(text|citext|varchar|character\s+varying|char|character)\b/i;

type Table = { table: string; text: string[] };

/**
 * A table and text column that `sqlCleanup` could name: the first table with a text column, that
 * column one of LIKELY when it has one, read from `CREATE TABLE` statements (a PostgreSQL
 * service's init scripts, `*.sql` and `*.sql.gz`; SQL migrations; the SQL strings of TypeORM's)
 * and from the table builders of JavaScript migrations (knex, node-pg-migrate, Sequelize). A
 * column that is a key (`id ... PRIMARY KEY`) is not a test's name.
 */
export function cleanupColumnIn(
  files: string[],
): { table: string; column: string; file: string } | undefined {
  for (const file of files) {
    let text: string;
    try {
      const raw = readFileSync(file);
      text = (file.endsWith('.gz') ? gunzipSync(raw) : raw).toString('utf8');
    } catch {
      continue;
    }
    const tables = [...sqlTables(text), ...(/\.[cm]?[jt]s$/.test(file) ? builtTables(text) : [])];
    for (const { table, text: columns } of tables) {
      const column = LIKELY.find((c) => columns.includes(c)) ?? columns[0];
      if (column) return { table, column, file };
    }
  }
  return undefined;
}

function sqlTables(source: string): Table[] {
  const sql = source.replace(/--[^\n]*/g, '').replace(/\/\*[\s\S]*?\*\//g, '');
  const create = /create\s+(?:unlogged\s+)?table\s+(?:if\s+not\s+exists\s+)?((?:"?\w+"?\.)?"?\w+"?)\s*\(/gi;
  const tables: Table[] = [];
  for (let m = create.exec(sql); m; m = create.exec(sql)) {
    const text = columnsOf(sql, create.lastIndex)
      .map((def) => def.trim().match(/^"?(\w+)"?\s+(.*)$/s))
      .filter((d): d is RegExpMatchArray => d !== null)
      .filter(([, , type]) => TEXT.test(type as string) && !/primary\s+key/i.test(type as string))
      .map(([, name]) => name as string)
      .filter((name) => !/^(constraint|primary|unique|foreign|check|exclude)$/i.test(name));
    tables.push({ table: (m[1] as string).replaceAll('"', ''), text });
  }
  return tables;
}

/** A text column as the migration libraries write one, its name first. */
const BUILT_TEXT = [
  // knex: t.string('email'), t.text('bio'); not one made the key (.primary())
  /\.(?:string|text)\(\s*['"`](\w+)['"`][^;\n]*/g,
  // node-pg-migrate's short form: email: 'text', name: 'varchar(100)'
  /\b(\w+)\s*:\s*['"`](?:text|citext|varchar|character varying)\b[^'"`]*['"`]/g,
  // an object with a type: node-pg-migrate's { type: 'text' }, Sequelize's { type: DataTypes.STRING }
  /\b(\w+)\s*:\s*\{[^{}]*?\btype\s*:\s*(?:['"`](?:text|citext|varchar|character varying)\b|(?:Sequelize|DataTypes)\.(?:STRING|TEXT|CITEXT)\b)[^{}]*\}/g,
];

/** The tables of `createTable('name', ...)` calls (knex, node-pg-migrate, Sequelize's queryInterface). */
function builtTables(source: string): Table[] {
  const call = /createTable\(\s*['"`](\w+)['"`]\s*,/g;
  const tables: Table[] = [];
  for (let m = call.exec(source); m; m = call.exec(source)) {
    const body = source.slice(call.lastIndex, callEnd(source, call.lastIndex));
    const text = BUILT_TEXT.flatMap((form) =>
      [...body.matchAll(form)]
        .filter(([whole]) => !/\.primary\(|primaryKey\s*:\s*true/.test(whole))
        .map((found) => ({ at: found.index, name: found[1] as string })),
    )
      .sort((a, b) => a.at - b.at)
      .map((c) => c.name);
    tables.push({ table: m[1] as string, text });
  }
  return tables;
}

/** Where the call whose arguments start at `from` closes: brackets of every kind balanced. */
function callEnd(source: string, from: number): number {
  let depth = 0;
  for (let i = from; i < source.length; i++) {
    const c = source[i] as string;
    if ('([{'.includes(c)) depth++;
    else if (')]}'.includes(c) && depth-- === 0) return i;
  }
  return source.length;
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
