import { execFile } from 'node:child_process';
import { UserError } from '../errors.js';

/** A change's lines in one file: old-side (before) and new-side (after) line numbers, 1-based. */
export interface Hunk {
  oldStart: number;
  oldLines: number;
  newStart: number;
  newLines: number;
}

/**
 * git's output where it exits 0, else undefined (not a repository, no such commit, no git).
 * node:child_process, not execa: every `realstack test` asks for HEAD, and loading execa's 150
 * modules cost it 0.2 s of CPU.
 */
function git(cwd: string, args: string[]): Promise<string | undefined> {
  return new Promise((resolve) => {
    execFile('git', args, { cwd, encoding: 'utf8', maxBuffer: 1024 ** 3 }, (err, stdout) =>
      resolve(err ? undefined : stdout),
    );
  });
}

export const headCommit = async (cwd: string) => (await git(cwd, ['rev-parse', 'HEAD']))?.trim();

/** Whether REF names a commit of this repository. */
export const isCommit = async (cwd: string, ref: string) =>
  (await git(cwd, ['rev-parse', '--verify', '--quiet', `${ref}^{commit}`])) !== undefined;

/** Commits from `from` to HEAD; undefined when `from` is not in this history (a rebase, a shallow clone). */
export async function commitsSince(cwd: string, from: string): Promise<number | undefined> {
  const out = await git(cwd, ['rev-list', '--count', `${from}..HEAD`]);
  return out === undefined ? undefined : Number(out.trim());
}

/** The file's text at a commit, or undefined where it did not exist. */
export const showFile = (cwd: string, commit: string, file: string) =>
  git(cwd, ['show', `${commit}:${file}`]);

/**
 * Files changed from REF to the working tree (staged, unstaged, and new files git does not
 * ignore), project-relative.
 */
export async function changedSince(cwd: string, ref: string): Promise<string[]> {
  if (!(await isCommit(cwd, ref)))
    throw new UserError(
      `--since ${ref}: not a commit of this repository. Give a branch, tag or commit (\`git log --oneline\`), or name the changed files.`,
      2,
    );
  const diff = (await git(cwd, ['diff', '--name-only', '--relative', ref, '--'])) ?? '';
  const untracked = (await git(cwd, ['ls-files', '--others', '--exclude-standard'])) ?? '';
  return [...new Set([...diff.split('\n'), ...untracked.split('\n')].filter(Boolean))].sort();
}

/** `git diff -U0 REF -- FILE` as hunks; a new file is one hunk of all its lines. */
export async function hunks(cwd: string, ref: string, file: string): Promise<Hunk[]> {
  const out = (await git(cwd, ['diff', '-U0', '--no-color', '--relative', ref, '--', file])) ?? '';
  const found: Hunk[] = [];
  for (const m of out.matchAll(/^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@/gm)) {
    found.push({
      oldStart: Number(m[1]),
      oldLines: m[2] === undefined ? 1 : Number(m[2]),
      newStart: Number(m[3]),
      newLines: m[4] === undefined ? 1 : Number(m[4]),
    });
  }
  return found;
}

export const inGitRepo = async (cwd: string) => (await git(cwd, ['rev-parse', '--git-dir'])) !== undefined;
