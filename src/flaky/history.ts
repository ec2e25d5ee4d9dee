import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { setFlagsFromString } from 'node:v8';
import type { Database, SqlJsStatic, SqlValue } from 'sql.js';
import type { ToolkitConfig } from '../config/toolkit.js';
import { UserError } from '../errors.js';
import type { Counts } from '../results/model.js';
import { writeFileWhole } from '../util/files.js';
import { withFileLock } from '../util/lock.js';

/**
 * Every run's result per test, in an SQLite file (.realstack/history.sqlite). SQLite through
 * sql.js (SQLite compiled to WebAssembly): the same file format the sqlite3 shell opens, with no
 * native build, so it works where realstack is installed from a tarball and npm runs no install
 * scripts. sql.js holds the database in memory: each change is read, made and written whole under
 * a lock file, and the oldest runs are dropped past KEEP_RUNS.
 */
export const historyFile = (config: ToolkitConfig) =>
  path.resolve(
    config.projectDir,
    config.env.REALSTACK_HISTORY || path.join(config.stateDir, 'history.sqlite'),
  );

const KEEP_RUNS = 500;
const SCHEMA_VERSION = '1';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS runs (
  id INTEGER PRIMARY KEY,
  run_id TEXT NOT NULL,
  kind TEXT NOT NULL,
  finished_at TEXT NOT NULL,
  git_commit TEXT,
  engine TEXT NOT NULL,
  passed INTEGER NOT NULL, failed INTEGER NOT NULL, flaky INTEGER NOT NULL,
  quarantined INTEGER NOT NULL, skipped INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS results (
  run INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  file TEXT NOT NULL,
  test TEXT NOT NULL,
  status TEXT NOT NULL,
  attempts INTEGER NOT NULL,
  failed_attempts INTEGER NOT NULL,
  ms REAL,
  failure TEXT,
  class TEXT,
  stack TEXT
);
CREATE INDEX IF NOT EXISTS results_by_test ON results (file, test, run);
CREATE TABLE IF NOT EXISTS quarantine (
  file TEXT NOT NULL,
  test TEXT NOT NULL,
  since TEXT NOT NULL,
  reason TEXT NOT NULL,
  released_at TEXT,
  released_why TEXT,
  released_after_run INTEGER
);
`;

/** What a run adds to the history. */
export interface RunRecord {
  runId: string;
  /** test, coverage, or fix (a `fix-quarantined` round). */
  kind: 'test' | 'coverage' | 'fix';
  engine: string;
  commit: string | undefined;
}

export interface TestKey {
  file: string;
  test: string;
}

/** A test's recent runs (its window, after its last release from quarantine). */
export interface TestStats extends TestKey {
  runs: number;
  /** Runs in which it failed at least once: failed, flaky or quarantined. */
  failing: number;
  /** Runs in which it failed and then passed on a retry. */
  flaky: number;
  /** Runs in which it failed while quarantined. */
  quarantined: number;
  /** Runs in which it passed the first time. */
  passedFirst: number;
  /** Failing runs the engine saw a stack event in (a service exited, restarted, went unhealthy). */
  stackClass: number;
  lastFailure: { at: string; commit: string | null; failure: string | null; class: string | null } | null;
}

export interface Quarantined extends TestKey {
  since: string;
  reason: string;
}

type Row = Record<string, SqlValue>;

let sqlJs: Promise<SqlJsStatic> | undefined;
/**
 * sql.js compiles its WebAssembly once per process, on the first use. With only V8's baseline
 * compiler (Liftoff): the optimising one, for the functions sql.js runs hot as it starts, costs
 * a command that runs a few small queries 0.27 s of CPU more (docs/performance.md). The flag is
 * V8's, for whatever compiles meanwhile, so it is set for this compile alone.
 */
const engine = () => {
  sqlJs ??= import('sql.js').then(async (m) => {
    setFlagsFromString('--liftoff-only');
    try {
      return await m.default();
    } finally {
      setFlagsFromString('--no-liftoff-only');
    }
  });
  return sqlJs;
};

export class History {
  private constructor(
    private readonly db: Database,
    readonly file: string,
  ) {}

  /** Opens the history read-only: what reports and selections read. */
  static async read(file: string): Promise<History> {
    const { Database } = await engine();
    let db: Database;
    try {
      db = new Database(existsSync(file) ? readFileSync(file) : undefined);
      db.exec(SCHEMA);
    } catch (err) {
      throw new UserError(
        `${file} is not a realstack test history (${(err as Error).message}). Move it away; the next run starts a new one.`,
      );
    }
    const version = db.exec("SELECT value FROM meta WHERE key = 'schema'")[0]?.values[0]?.[0];
    if (version !== undefined && version !== SCHEMA_VERSION)
      throw new UserError(
        `${file} was written by another realstack (history schema ${version}, this one reads ${SCHEMA_VERSION}). Move it away to start a new one.`,
      );
    db.run("INSERT OR IGNORE INTO meta (key, value) VALUES ('schema', ?)", [SCHEMA_VERSION]);
    return new History(db, file);
  }

  /** Reads, changes and writes the history whole, under its lock, so no other run's change is lost. */
  static async change<T>(file: string, fn: (h: History) => T): Promise<T> {
    return withFileLock(file, async () => {
      const h = await History.read(file);
      try {
        const out = fn(h);
        writeFileWhole(file, h.db.export());
        return out;
      } finally {
        h.db.close();
      }
    });
  }

  close(): void {
    this.db.close();
  }

  private rows(sql: string, params: SqlValue[] = []): Row[] {
    const stmt = this.db.prepare(sql);
    try {
      stmt.bind(params);
      const out: Row[] = [];
      while (stmt.step()) out.push(stmt.getAsObject());
      return out;
    } finally {
      stmt.free();
    }
  }

  /** Adds a run with each test's final status; returns the run's number in the history. */
  addRun(run: RunRecord, counts: Counts): number {
    this.db.run('BEGIN');
    this.db.run(
      `INSERT INTO runs (run_id, kind, finished_at, git_commit, engine, passed, failed, flaky, quarantined, skipped)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      [
        run.runId,
        run.kind,
        new Date().toISOString(),
        run.commit ?? null,
        run.engine,
        counts.passed,
        counts.failed,
        counts.flaky,
        counts.quarantined,
        counts.skipped,
      ],
    );
    const id = Number(this.db.exec('SELECT last_insert_rowid()')[0]?.values[0]?.[0]);
    const insert = this.db.prepare(
      'INSERT INTO results (run, file, test, status, attempts, failed_attempts, ms, failure, class, stack) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
    );
    try {
      for (const f of counts.files)
        for (const t of f.tests)
          insert.run([
            id,
            f.file,
            t.name,
            t.status,
            t.attempts,
            t.failures.length,
            t.ms,
            t.failures.length ? t.failures.join('\n') : null,
            t.failureClass ?? null,
            t.stack?.length ? t.stack.join('\n') : null,
          ]);
    } finally {
      insert.free();
    }
    this.db.run('DELETE FROM results WHERE run <= ?', [id - KEEP_RUNS]);
    this.db.run('DELETE FROM runs WHERE id <= ?', [id - KEEP_RUNS]);
    this.db.run('COMMIT');
    return id;
  }

  /** Each file's time in the last run that ran it (its top-level tests' sum, ms): how shards are balanced. */
  fileDurations(): Map<string, number> {
    const rows = this.rows(
      `WITH latest AS (SELECT file, MAX(run) AS run FROM results WHERE ms IS NOT NULL GROUP BY file)
       SELECT r.file AS file, SUM(r.ms) AS ms FROM results r JOIN latest l ON l.file = r.file AND l.run = r.run
       GROUP BY r.file`,
    );
    return new Map(rows.map((r) => [String(r.file), Number(r.ms)]));
  }

  /** Each test's last `window` runs (skips not counted), after its last release from quarantine. */
  stats(window: number, only?: TestKey[]): TestStats[] {
    const rows = this.rows(
      `WITH released AS (
         SELECT file, test, MAX(released_after_run) AS after FROM quarantine
         WHERE released_after_run IS NOT NULL GROUP BY file, test),
       recent AS (
         SELECT r.*, ROW_NUMBER() OVER (PARTITION BY r.file, r.test ORDER BY r.run DESC) AS n
         FROM results r LEFT JOIN released q ON q.file = r.file AND q.test = r.test
         WHERE r.status != 'skipped' AND r.run > COALESCE(q.after, 0))
       SELECT file, test, COUNT(*) AS runs,
         SUM(status != 'passed') AS failing,
         SUM(status = 'flaky') AS flaky,
         SUM(status = 'quarantined') AS quarantined,
         SUM(status = 'passed' AND failed_attempts = 0) AS passed_first,
         SUM(class = 'stack') AS stack_class,
         MAX(CASE WHEN status != 'passed' THEN run END) AS last_failed_run
       FROM recent WHERE n <= ? GROUP BY file, test ORDER BY file, test`,
      [window],
    );
    const wanted = only && new Set(only.map((k) => `${k.file}\0${k.test}`));
    return rows
      .filter((r) => !wanted || wanted.has(`${r.file}\0${r.test}`))
      .map((r) => {
        const last =
          r.last_failed_run === null
            ? undefined
            : this.rows(
                `SELECT runs.finished_at AS at, runs.git_commit AS git_commit, results.failure AS failure, results.class AS class
                 FROM results JOIN runs ON runs.id = results.run
                 WHERE results.run = ? AND results.file = ? AND results.test = ?`,
                [r.last_failed_run as number, r.file as string, r.test as string],
              )[0];
        return {
          file: r.file as string,
          test: r.test as string,
          runs: Number(r.runs),
          failing: Number(r.failing),
          flaky: Number(r.flaky),
          quarantined: Number(r.quarantined),
          passedFirst: Number(r.passed_first),
          stackClass: Number(r.stack_class),
          lastFailure: last
            ? {
                at: last.at as string,
                commit: last.git_commit as string | null,
                failure: last.failure as string | null,
                class: last.class as string | null,
              }
            : null,
        };
      });
  }

  /** Statuses of a test's runs, newest first (releases count passes in a row). */
  recentStatuses(key: TestKey, limit: number): string[] {
    return this.rows(
      'SELECT status FROM results WHERE file = ? AND test = ? AND status != ? ORDER BY run DESC LIMIT ?',
      [key.file, key.test, 'skipped', limit],
    ).map((r) => r.status as string);
  }

  quarantined(): Quarantined[] {
    return this.rows(
      'SELECT file, test, since, reason FROM quarantine WHERE released_at IS NULL ORDER BY since, file, test',
    ).map((r) => ({
      file: r.file as string,
      test: r.test as string,
      since: r.since as string,
      reason: r.reason as string,
    }));
  }

  quarantine(key: TestKey, reason: string): void {
    this.db.run('INSERT INTO quarantine (file, test, since, reason) VALUES (?, ?, ?, ?)', [
      key.file,
      key.test,
      new Date().toISOString(),
      reason,
    ]);
  }

  release(key: TestKey, why: string): void {
    const last = Number(this.db.exec('SELECT COALESCE(MAX(id), 0) FROM runs')[0]?.values[0]?.[0] ?? 0);
    this.db.run(
      'UPDATE quarantine SET released_at = ?, released_why = ?, released_after_run = ? WHERE file = ? AND test = ? AND released_at IS NULL',
      [new Date().toISOString(), why, last, key.file, key.test],
    );
  }

  runCount(): number {
    return Number(this.db.exec('SELECT COUNT(*) FROM runs')[0]?.values[0]?.[0] ?? 0);
  }
}
