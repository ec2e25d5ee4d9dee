import { existsSync, readFileSync, realpathSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

/**
 * The majors of tap's runner (@tapjs/run) whose imports ./hooks.ts was checked against, by
 * tests/tap-runner.test.ts: 4 is tap 21's. Another runner starts as tap starts.
 */
const KNOWN_RUNNERS = [4];

/** The project's node_modules/.bin folders, nearest first: where `npm exec` looks for a bin. */
function binDirs(projectDir: string): string[] {
  const dirs: string[] = [];
  for (let dir = path.resolve(projectDir); ; dir = path.dirname(dir)) {
    dirs.push(path.join(dir, 'node_modules', '.bin'));
    if (path.dirname(dir) === dir) return dirs;
  }
}

/** The project's tap: node_modules/.bin here or above. */
function localTapScript(projectDir: string): string | undefined {
  const bin = binDirs(projectDir)
    .map((dir) => path.join(dir, 'tap'))
    .find((file) => existsSync(file));
  return bin && realpathSync(bin);
}

/**
 * The PATH tap and its test processes get, as `npm test` gives one: the project's bins first,
 * then this Node's folder, then the caller's PATH. Tests that run a bin of the project find it.
 */
export const tapPath = (projectDir: string, PATH = ''): string =>
  [...binDirs(projectDir), path.dirname(process.execPath), PATH].filter(Boolean).join(path.delimiter);

/** The value tap's arguments leave in force for an option (the last one given wins, as in tap). */
function optionOf(args: string[], long: string, short: string): string | undefined {
  let value: string | undefined;
  args.forEach((arg, i) => {
    if (arg === short || arg === long) value = args[i + 1];
    else if (arg.startsWith(`${long}=`)) value = arg.slice(long.length + 1);
    else if (arg.startsWith(short) && arg.length > short.length) value = arg.slice(short.length);
  });
  return value;
}

/** The reporter tap's arguments leave in force. */
export const reporterOf = (args: string[]) => optionOf(args, '--reporter', '-R');

/** Where tap's arguments send its report (none, `-` or /dev/stdout: standard output). */
export const reportFileOf = (args: string[]) => optionOf(args, '--reporter-file', '-f');

/** The major version of the runner a tap script loads, where it can be read. */
function runnerMajor(script: string): number | undefined {
  try {
    const pkg = createRequire(script).resolve('@tapjs/run/package.json');
    return Number((JSON.parse(readFileSync(pkg, 'utf8')) as { version: string }).version.split('.')[0]);
  } catch {
    return undefined;
  }
}

/** What a run's test processes can do without (./hooks.ts). */
export interface LeanRun {
  /** tap's coverage is off: no process recorder. */
  coverageOff: boolean;
  /** The project shows no TypeScript (./typescript.ts): the loader only for TypeScript files. */
  typescriptByFile: boolean;
  /** Started before the stack is up: the runner waits for its environment (./gated-run.ts). */
  waitForStack?: boolean;
}

/**
 * How to start tap with these arguments: with the `tap` reporter and the project's own tap of a
 * known runner, the runner starts without the packages only its other reporters use, and its
 * test processes without what `lean` says they can do without (./hooks.ts); otherwise as `tap`
 * on the PATH of `tapPath`.
 */
export function tapCommand(
  projectDir: string,
  args: string[],
  lean: LeanRun,
): { file: string; args: string[]; waitsForStack?: true } {
  const script = reporterOf(args) === 'tap' ? localTapScript(projectDir) : undefined;
  const known = script && /\.m?js$/.test(script) && KNOWN_RUNNERS.includes(runnerMajor(script) ?? -1);
  if (!script || !known) return { file: 'tap', args };
  const register = new URL('./register.js', import.meta.url);
  if (lean.coverageOff) register.searchParams.set('coverage', 'off');
  if (lean.typescriptByFile) register.searchParams.set('typescript', 'by-file');
  if (lean.waitForStack) register.searchParams.set('wait', 'stack');
  const command = { file: process.execPath, args: [`--import=${register.href}`, script, ...args] };
  return lean.waitForStack ? { ...command, waitsForStack: true } : command;
}
