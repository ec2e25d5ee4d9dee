import { type Dirent, readdirSync } from 'node:fs';
import path from 'node:path';

/** Folders a project keeps its schema's history in, as migration tools name them by default. */
const MIGRATION_DIR = /^(migrations?|drizzle|prisma|db|database|sql|schema)$/i;
/**
 * A script of the project's own that makes its tables (`src/migrate.js`, `scripts/schema.ts`),
 * or the module that opens its database and makes them there (`src/db.ts`, `lib/database.js`).
 */
const MIGRATION_FILE = /migrat|schema|^(db|database)\.[^.]+$/i;
const NOT_SOURCES = new Set(['node_modules', 'dist', 'build', 'coverage', 'test-results']);
const SOURCE = /(?<!\.d)\.(sql|[cm]?[jt]s)$/;
const MAX_DEPTH = 5;

/**
 * A project's migration files: SQL, JavaScript or TypeScript below a folder named as migration
 * tools name theirs (migrations/, prisma/migrations/, drizzle/, db/migrate/), or named for what
 * it does (src/migrate.js, src/db.ts), in path order, which a migration's leading timestamp or number makes
 * the order they were written in.
 */
export function migrationFiles(projectDir: string): string[] {
  const found: string[] = [];
  const walk = (dir: string, depth: number, under: boolean) => {
    let entries: Dirent[];
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const p = path.join(dir, e.name);
      if (e.isDirectory() && depth < MAX_DEPTH && !e.name.startsWith('.') && !NOT_SOURCES.has(e.name))
        walk(p, depth + 1, under || MIGRATION_DIR.test(e.name));
      else if (e.isFile() && (under || MIGRATION_FILE.test(e.name)) && SOURCE.test(e.name)) found.push(p);
    }
  };
  walk(projectDir, 0, false);
  return found.sort();
}
