import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { sourceFiles } from './source-files.js';

/** The folders projects keep their tests in, in the order a sample test goes to the first. */
const TEST_DIRS = ['test', 'tests', '__tests__', 'e2e', 'integration', 'spec'];
const TEST_FILE = /\.(test|spec)\.[cm]?[jt]sx?$/;
/** A file tap runs: tap's own, or node:test's (it prints TAP). */
const TAP_RUNS = /['"](?:tap|node:test|@tapjs\/[\w-]+)['"]/;
/** A file of a runner tap cannot run, by what it imports (or, for Jest and Mocha, their globals). */
const OTHER_RUNNER = /['"](vitest|@playwright\/test|@jest\/globals|mocha|ava)['"]|^\s*(describe|it)\s*\(/m;
const EXTENSIONS = '{js,mjs,cjs,ts,mts}';

export interface TestLayout {
  /** Where init's sample test goes. */
  dir: string;
  /** tap's include: the project's own test files that tap can run, and the sample. */
  include: string[];
  /** The folders those are in, where the tests' own settings are read (test-urls.ts). */
  dirs: string[];
  found: string[];
  /** Test files of another runner, left out: how many in each folder. */
  others: { dir: string; count: number }[];
  /** Those files, for tap's exclude: a folder may hold both kinds. */
  exclude: string[];
}

/**
 * The project's test files, read for what runs them: those tap runs (tap's, node:test's) go in
 * .taprc's include, by folder and by the suffix they use (`*.spec.js` too); those of another
 * runner (Vitest, Jest, Mocha, Playwright) are left out and named, since tap would fail them.
 */
export function testLayout(projectDir: string): TestLayout {
  const runnable = new Map<string, Set<string>>();
  const other = new Map<string, number>();
  const exclude: string[] = [];
  let names = '';
  for (const dir of TEST_DIRS) {
    const abs = path.join(projectDir, dir);
    if (!existsSync(abs)) continue;
    for (const file of sourceFiles(abs).filter((f) => TEST_FILE.test(f))) {
      const text = readFileSync(file, 'utf8');
      const suffix = (TEST_FILE.exec(file) as RegExpExecArray)[1] as string;
      if (TAP_RUNS.test(text)) {
        runnable.set(dir, (runnable.get(dir) ?? new Set()).add(suffix));
        names ||= path.relative(projectDir, file);
      } else if (OTHER_RUNNER.test(text)) {
        other.set(dir, (other.get(dir) ?? 0) + 1);
        exclude.push(path.relative(projectDir, file).split(path.sep).join('/'));
      }
    }
  }
  const dir =
    [...runnable.keys()][0] ?? TEST_DIRS.find((d) => existsSync(path.join(projectDir, d))) ?? 'test';
  const suffixes = (d: string) => {
    const own = new Set(runnable.get(d) ?? []);
    if (d === dir) own.add('test');
    return own.size > 1 ? `{${[...own].sort().join(',')}}` : [...own][0];
  };
  const dirs = [...new Set([dir, ...runnable.keys()])];
  const include = dirs.map((d) => `${d}/**/*.${suffixes(d)}.${EXTENSIONS}`);
  const found =
    runnable.size > 0
      ? [
          `tests: ${include.join(', ')} (the files tap runs, its own or node:test's, such as ${names}; .taprc's include, which you can edit)`,
        ]
      : [];
  return { dir, include, dirs, found, others: [...other].map(([d, count]) => ({ dir: d, count })), exclude };
}
