import type { ToolkitConfig } from '../config/toolkit.js';
import { UserError } from '../errors.js';
import { readImpactMap } from '../impact/map.js';
import { type Changes, describeSelection, type Selection, selectTests } from '../impact/select.js';
import type { Log } from '../log.js';
import { projectStack } from '../stack/compose.js';
import { inGitRepo } from '../util/git.js';
import { runTests } from './run-tests.js';
import { parseTestRun, setFiles, type TestSet, testSet } from './selection.js';
import { summaryLine } from './summary.js';

const usage = 'realstack impact [--set S] [--since REF] [FILES...]  (or CHANGED_FILES="a b")';

const splitFiles = (list: string) => list.split(/[\s,]+/).filter(Boolean);

/** `--since REF` and the files named (or CHANGED_FILES, as seed 003's make targets take them). */
export function parseChanges(
  args: string[],
  env: NodeJS.ProcessEnv,
): { changes: Changes; brief: boolean; set: TestSet } {
  let since: string | undefined;
  let brief = false;
  let set: TestSet = 'all';
  const files: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] as string;
    if (arg === '--since' || arg.startsWith('--since=')) {
      since = arg.includes('=') ? arg.slice('--since='.length) : args[++i];
      if (!since) throw new UserError(`--since needs a commit, branch or tag: ${usage}`, 2);
    } else if (arg === '--set' || arg.startsWith('--set=')) {
      set = testSet((arg.includes('=') ? arg.slice('--set='.length) : args[++i]) ?? '');
    } else if (arg === '--brief') brief = true;
    // Seed 003's `make test-impact CHANGED_FILES=...`, as `just test-impact CHANGED_FILES=...`.
    else if (arg.startsWith('CHANGED_FILES=')) files.push(...splitFiles(arg.slice('CHANGED_FILES='.length)));
    else if (arg.startsWith('-')) throw new UserError(`${arg}: unknown option; ${usage}`, 2);
    else files.push(arg);
  }
  if (files.length === 0) files.push(...splitFiles(env.CHANGED_FILES ?? ''));
  if (since && files.length > 0)
    throw new UserError(
      'give --since REF or the changed files, not both: the files would be a subset of the diff.',
      2,
    );
  const changes: Changes = since
    ? { kind: 'since', ref: since }
    : files.length > 0
      ? { kind: 'files', files }
      : { kind: 'map' };
  return { changes, brief, set };
}

const baseWords = (changes: Changes, commit: string | null) =>
  changes.kind === 'since'
    ? `since ${changes.ref}`
    : changes.kind === 'files'
      ? 'named'
      : `since the map was recorded${commit ? ` (at ${commit.slice(0, 8)})` : ''}`;

/** `just impact-analysis`: the selection and its reasons, nothing run. */
export async function impactAnalysis(
  config: ToolkitConfig,
  args: string[],
  log: Log,
): Promise<Selection & { set: TestSet }> {
  const { changes, brief, set } = parseChanges(args, config.env);
  if (changes.kind !== 'files' && !(await inGitRepo(config.projectDir)))
    throw new UserError(
      'this project is not a git repository: name the changed files (realstack impact FILE...).',
      2,
    );
  const map = readImpactMap(config);
  const { files: suite } = await setFiles(parseTestRun(['--set', set]), config.projectDir);
  const selection = await selectTests(config, projectStack(config), map, suite, changes);
  const table = describeSelection(selection, baseWords(changes, map.commit));
  if (brief)
    log(
      table
        .split('\n')
        .filter((l) => !l.startsWith('  '))
        .join('\n'),
    );
  else log(table);
  return { ...selection, set };
}

/** `just test-impact` / `just test-selective`: the selection, then exactly those files. */
export async function runImpactTests(config: ToolkitConfig, args: string[], log: Log): Promise<number> {
  const selection = await impactAnalysis(config, args, log);
  const set = selection.set === 'all' ? [] : ['--set', selection.set];
  if (selection.everything.length > 0) return runTests(config, set, log);
  if (selection.selected.length === 0) {
    log(`no test ran what changed: all ${selection.suite.length} test files skipped`);
    process.stdout.write(`${summaryLine({ passed: 0, failed: 0, skipped: 0, flaky: 0, quarantined: 0 })}\n`);
    return 0;
  }
  const skipped = selection.suite.length - selection.selected.length;
  log(`running ${selection.selected.length} test files, skipping ${skipped} of ${selection.suite.length}`);
  return runTests(config, [...set, ...selection.selected.map((t) => t.file)], log);
}
