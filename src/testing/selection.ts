import { existsSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { UserError } from '../errors.js';
import { cachedYaml, yaml } from '../util/yaml.js';
import { reporterOf, reportFileOf } from './tap-runner/command.js';

/**
 * Which test files a recipe runs. `serial` is tap's own `serial` setting (package.json), so
 * "serial" means one thing to tap and to us; `golden` is every file in a folder named golden/; `smoke` is every file
 * with a top-level test named "smoke: ...", and only those tests run.
 */
export const TEST_SETS = ['all', 'serial', 'parallel-safe', 'smoke', 'golden'] as const;
export type TestSet = (typeof TEST_SETS)[number];

export const SMOKE_PREFIX = 'smoke: ';

export interface TestRun {
  set: TestSet;
  /** tap's --jobs; undefined leaves the project's tap settings, else one job per core (run-tests.ts). */
  jobs?: number;
  /** Print a per-file table before the closing line. */
  byModule: boolean;
  /** Rewrite tap's snapshots instead of comparing with them. */
  updateGolden: boolean;
  /** Print the set's files and run nothing. */
  list: boolean;
  /** Compose profiles to start, over COMPOSE_PROFILES (`--profile dev`, repeatable). */
  profiles: string[];
  /** Failing files run again up to this many times; undefined leaves realstack.json's flaky.retries. */
  retries?: number;
  /** A flaky test fails the run (over realstack.json's flaky.failOnFlaky). */
  failFlaky: boolean;
  /** Run only this part of the set's files (`--shard I/N`), for CI's parallel jobs. */
  shard?: Shard;
  /** What goes to tap untouched, after the set's own arguments. */
  tapArgs: string[];
}

/** One of N parts of a suite: `--shard 2/4` is index 2 of total 4. */
export interface Shard {
  index: number;
  total: number;
}

/** `--shard I/N`, checked: 1 <= I <= N <= 64. */
export function parseShard(text: string): Shard {
  const m = /^(\d+)\/(\d+)$/.exec(text.trim());
  const index = Number(m?.[1]);
  const total = Number(m?.[2]);
  if (!m || index < 1 || total < 1 || index > total || total > 64)
    throw new UserError(
      `--shard ${text}: give I/N, this shard's number and how many there are (1 <= I <= N <= 64), e.g. --shard 2/4.`,
      2,
    );
  return { index, total };
}

/** A test set's name, checked: `--set` of `test` and of `impact`. */
export function testSet(name: string): TestSet {
  if (!TEST_SETS.includes(name as TestSet))
    throw new UserError(`--set ${name}: the test sets are ${TEST_SETS.join(', ')}.`, 2);
  return name as TestSet;
}

const usage =
  'realstack test [--set all|serial|parallel-safe|smoke|golden] [--jobs N|auto] [--retries N] [--fail-flaky] [--shard I/N] [--by-module] [--update-golden] [--profile P]... [--list] [tap args]';

/** `--retries N`: how often a failing file runs again, 0 to 10. */
export function retriesValue(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 10)
    throw new UserError(`--retries ${value}: give a whole number from 0 to 10.`, 2);
  return n;
}

/**
 * realstack's own options come first; everything from the first other argument on is tap's,
 * quoted arguments intact.
 */
export function parseTestRun(args: string[], cores = os.availableParallelism()): TestRun {
  const run: TestRun = {
    set: 'all',
    byModule: false,
    updateGolden: false,
    list: false,
    profiles: [],
    failFlaky: false,
    tapArgs: [],
  };
  let i = 0;
  const flagValue = (flag: string): string => {
    const arg = args[i] as string;
    if (arg.includes('=')) return arg.slice(arg.indexOf('=') + 1);
    const next = args[++i];
    if (next === undefined) throw new UserError(`${flag} needs a value: ${usage}`, 2);
    return next;
  };
  for (; i < args.length; i++) {
    const arg = args[i] as string;
    const flag = arg.split('=')[0];
    if (flag === '--set') run.set = testSet(flagValue('--set'));
    else if (flag === '--jobs' || flag === '-j') {
      const value = flagValue('--jobs');
      const n = value === 'auto' ? cores : Number(value);
      if (!Number.isInteger(n) || n < 1 || n > 64)
        throw new UserError(`--jobs ${value}: give a whole number from 1 to 64, or auto (${cores} here).`, 2);
      run.jobs = n;
    } else if (flag === '--retries') run.retries = retriesValue(flagValue('--retries'));
    else if (arg === '--fail-flaky') run.failFlaky = true;
    else if (flag === '--profile') run.profiles.push(flagValue('--profile'));
    else if (flag === '--shard') run.shard = parseShard(flagValue('--shard'));
    else if (arg === '--by-module') run.byModule = true;
    else if (arg === '--update-golden') run.updateGolden = true;
    else if (arg === '--list') run.list = true;
    else break;
  }
  run.tapArgs = args.slice(arg0(args, i));
  const reporter = reporterOf(run.tapArgs);
  const reportFile = reportFileOf(run.tapArgs);
  const refused =
    reporter !== undefined && reporter !== 'tap'
      ? `-R ${reporter}`
      : reportFile && !['-', '/dev/stdout'].includes(reportFile)
        ? `-f ${reportFile}`
        : undefined;
  if (refused)
    throw new UserError(
      `${refused}: realstack test counts the results from tap's TAP output, and writes the JUnit file (test-results/junit.xml) and the test history from it, so tap reports as TAP, on standard output. Drop ${refused}; the TAP is printed as the tests run.`,
      2,
    );
  if (run.shard && run.updateGolden)
    throw new UserError('--update-golden rewrites every golden snapshot: run it unsharded.', 2);
  if (run.updateGolden && run.set !== 'golden')
    throw new UserError('--update-golden rewrites the golden snapshots: use it with --set golden.', 2);
  return run;
}

const arg0 = (args: string[], i: number) => (args[i] === '--' ? i + 1 : i);

/** Where tap's arguments give its jobs (`--jobs N`, `--jobs=N`, `-j N`, `-jN`), or -1. */
export const jobsArgIndex = (tapArgs: string[]): number =>
  tapArgs.findIndex((a) => /^(--jobs|-j)(=|$)/.test(a) || /^-j\d+$/.test(a));

/** test-coverage's own options, before tap's arguments. */
export interface CoverageRun {
  profiles: string[];
  shard?: Shard;
  /** Record which test ran which service lines (the impact map). */
  perTest: boolean;
  retries?: number;
  failFlaky: boolean;
  rest: string[];
}

/** `--profile P`, `--per-test`, `--retries N`, `--shard I/N` and `--fail-flaky` before the tap arguments. */
export function leadingCoverageOptions(args: string[]): CoverageRun {
  const out: CoverageRun = { profiles: [], perTest: false, failFlaky: false, rest: [] };
  let i = 0;
  for (; i < args.length; i++) {
    const arg = args[i] as string;
    const next = args[i + 1];
    if (arg.startsWith('--profile=')) out.profiles.push(arg.slice('--profile='.length));
    else if (arg === '--profile' && next !== undefined) out.profiles.push(args[++i] as string);
    else if (arg.startsWith('--retries=')) out.retries = retriesValue(arg.slice('--retries='.length));
    else if (arg === '--retries' && next !== undefined) out.retries = retriesValue(args[++i] as string);
    else if (arg.startsWith('--shard=')) out.shard = parseShard(arg.slice('--shard='.length));
    else if (arg === '--shard' && next !== undefined) out.shard = parseShard(args[++i] as string);
    else if (arg === '--per-test') out.perTest = true;
    else if (arg === '--fail-flaky') out.failFlaky = true;
    else break;
  }
  out.rest = args.slice(i);
  return out;
}

/** The test files tap would run, as it lists them (its include globs and the files given). */
async function tapList(projectDir: string, files: string[]): Promise<string[]> {
  // Loaded here: a plain `realstack test` never lists, and execa costs a CLI 0.2 s of CPU.
  const { execa } = await import('execa');
  const res = await execa('tap', ['list', ...files], { preferLocal: true, cwd: projectDir, reject: false });
  if (res.exitCode !== 0) return [];
  return res.stdout.split('\n').filter(Boolean);
}

/** tap's own settings, where tap reads them: .taprc first (YAML), else package.json's "tap". */
export function tapConfig(projectDir: string): Record<string, unknown> {
  try {
    const text = readFileSync(path.join(projectDir, '.taprc'), 'utf8');
    return (cachedYaml('.taprc', text, () => yaml().parse(text)) as Record<string, unknown>) ?? {};
  } catch {}
  try {
    return (
      (
        JSON.parse(readFileSync(path.join(projectDir, 'package.json'), 'utf8')) as {
          tap?: Record<string, unknown>;
        }
      ).tap ?? {}
    );
  } catch {
    return {};
  }
}

const serialDirs = (projectDir: string): string[] => {
  const serial = tapConfig(projectDir).serial;
  return Array.isArray(serial) ? serial.map(String) : [];
};

const within = (file: string, dirs: string[]) =>
  dirs.some((d) => `${file}/`.startsWith(`${d.replace(/\/+$/, '')}/`));

const hasSmoke = (projectDir: string, file: string) =>
  new RegExp(`\\.test\\(\\s*['"\`]${SMOKE_PREFIX}`).test(readFileSync(path.join(projectDir, file), 'utf8'));

/**
 * Refuses arguments that name a test file that is not there (`test/nope.test.js`), which tap
 * would say only once the stack is up: a path with a test's extension or a folder in it, not a
 * glob, nor the value of a flag before it (`--grep a/b`).
 */
export function checkNamedFiles(projectDir: string, tapArgs: string[]): void {
  const missing = tapArgs.filter(
    (a, i) =>
      !a.startsWith('-') &&
      !/^-[^=]*$/.test(tapArgs[i - 1] ?? '') &&
      (/\.[cm]?[jt]sx?$/.test(a) || a.includes('/')) &&
      !/[*?[\]{}!\s]/.test(a) &&
      !existsSync(path.resolve(projectDir, a)),
  );
  if (missing.length > 0)
    throw new UserError(
      `${missing.join(', ')}: no such test file in ${projectDir}; \`npx realstack test --list\` lists the files tap runs here.`,
      2,
    );
}

/** Arguments that name test files or folders (tap's other arguments start with a dash). */
const namedPaths = (projectDir: string, tapArgs: string[]) =>
  tapArgs.filter((a) => !a.startsWith('-') && existsSync(path.resolve(projectDir, a)));

/**
 * The test files of a run's set, as tap lists them (its include globs, or the files the user
 * named, each checked to belong to the set).
 */
export async function setFiles(
  run: TestRun,
  projectDir: string,
): Promise<{ files: string[]; named: string[] }> {
  const named = namedPaths(projectDir, run.tapArgs);
  const all = await tapList(projectDir, named);
  const serial = serialDirs(projectDir);
  const inSet: Record<TestSet, (f: string) => boolean> = {
    all: () => true,
    serial: (f) => within(f, serial),
    'parallel-safe': (f) => !within(f, serial),
    smoke: (f) => hasSmoke(projectDir, f),
    golden: (f) => f.split('/').slice(0, -1).includes('golden'),
  };
  const files = all.filter(inSet[run.set]);
  if (named.length > 0 && files.length < all.length) {
    const outside = all.filter((f) => !inSet[run.set](f));
    throw new UserError(
      `${outside.join(', ')} ${outside.length === 1 ? 'is' : 'are'} not in the ${run.set} set; name files of the set, or use \`npx realstack test\` for any file.`,
      2,
    );
  }
  if (files.length === 0)
    throw new UserError(
      `no test files in the ${run.set} set${named.length ? ` among ${named.join(', ')}` : ''}.`,
      2,
    );
  return { files, named };
}

/**
 * tap's arguments for a run: the jobs, the set's files (or a shard's part of them), then the
 * user's own arguments.
 */
export async function tapArgsFor(
  run: TestRun,
  projectDir: string,
  shard?: { mine: string[]; named: string[] },
): Promise<string[]> {
  const args = run.jobs ? [`--jobs=${run.jobs}`] : [];
  if (run.set === 'all' && !shard) return [...args, ...run.tapArgs];
  // Not --filter-quietly: tap would report the tests it leaves out as passing.
  if (run.set === 'smoke') args.push(`--grep=^${SMOKE_PREFIX}`);
  if (run.updateGolden) args.push('--snapshot');
  if (shard) return [...args, ...shard.mine, ...run.tapArgs.filter((a) => !shard.named.includes(a))];
  const { files, named } = await setFiles(run, projectDir);
  // Files the user named stay where they wrote them, among their own arguments.
  return [...args, ...(named.length > 0 ? [] : files), ...run.tapArgs];
}

/**
 * Files in the order tap queues them, whatever order it is given them in: it sorts its list
 * (@tapjs/run's list.js). It queues each file once a stat of it returns, so on a busy machine
 * two neighbours can swap: an intent, not a promise.
 */
export const tapOrder = (files: string[]) => [...files].sort((a, b) => a.localeCompare(b, 'en'));
