import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { loadToolkitConfig, type ToolkitConfig } from '../config/toolkit.js';
import { dockerEndpoint } from '../engine/docker.js';
import type { Engine } from '../engine/types.js';
import { UserError } from '../errors.js';
import { projectKey, readImagesState } from '../images/state.js';
import type { Log } from '../log.js';
import { ensureSecrets } from '../secrets.js';
import { prepareRun } from '../stack/prepare.js';
import { startStack } from '../stack/stack.js';
import { inGitRepo, isCommit } from '../util/git.js';

/** This run's own variables: the stack of another commit gets its own run, state and secrets. */
const OWN_VARIABLES = /^(REALSTACK_RUN_ID|REALSTACK_STATE_DIR|REALSTACK_COVERAGE_DIR|REALSTACK_JUNIT_FILE)$/;

/**
 * The stack of another commit, beside this one: a git worktree of REF with its own dependencies
 * (`npm ci`: linked node_modules would resolve its workspaces to this checkout's code), its own
 * build (the project's hostBuild) and its own images or processes, started under a run of its
 * own. Everything is removed afterwards: the stack, the images built for it, the worktree.
 */
export async function withStackAt<T>(
  config: ToolkitConfig,
  ref: string,
  log: Log,
  fn: (engine: Engine, refConfig: ToolkitConfig) => Promise<T>,
): Promise<T> {
  const cwd = config.projectDir;
  if (!(await inGitRepo(cwd)))
    throw new UserError('--against compares with another commit: this project is not a git repository.', 2);
  if (!(await isCommit(cwd, ref)))
    throw new UserError(
      `--against ${ref}: not a commit of this repository. Give a branch, tag or commit (\`git log --oneline\`).`,
      2,
    );
  const top = (await execa('git', ['rev-parse', '--show-toplevel'], { cwd })).stdout.trim();
  const commit = (await execa('git', ['rev-parse', '--short', `${ref}^{commit}`], { cwd })).stdout.trim();
  const work = mkdtempSync(path.join(os.tmpdir(), 'realstack-against-'));
  const tree = path.join(work, 'tree');
  await execa('git', ['worktree', 'add', '--detach', '--quiet', tree, ref], { cwd });
  try {
    const projectDir = path.join(tree, path.relative(top, cwd));
    if (existsSync(path.join(projectDir, 'package-lock.json'))) {
      log(`--against ${ref} (${commit}): npm ci in a worktree of it`);
      const install = await execa('npm', ['ci', '--prefer-offline', '--no-audit', '--no-fund'], {
        cwd: projectDir,
        reject: false,
        all: true,
        env: { NODE_OPTIONS: '' },
      });
      if (install.exitCode !== 0)
        throw new UserError(
          `--against ${ref}: npm ci failed in its worktree:\n${String(install.all).slice(-2000)}`,
        );
    }
    const env = Object.fromEntries(Object.entries(config.env).filter(([k]) => !OWN_VARIABLES.test(k)));
    const refConfig = ensureSecrets(loadToolkitConfig(projectDir, env));
    const { engine } = await startStack(refConfig, { log, prepare: prepareRun(refConfig, log) });
    try {
      return await fn(engine, refConfig);
    } finally {
      log(`--against ${ref}: taking its stack down`);
      await engine.down();
      await removeBuiltImages(refConfig);
    }
  } finally {
    await execa('git', ['worktree', 'remove', '--force', tree], { cwd, reject: false });
    rmSync(work, { recursive: true, force: true });
  }
}

/** The images built for the worktree's services are tagged for its (temporary) folder: removed with it. */
async function removeBuiltImages(config: ToolkitConfig): Promise<void> {
  const mine = `realstack-${projectKey(config.projectDir)}/`;
  const built = Object.values(readImagesState(config).run.images).filter((tag) => tag.startsWith(mine));
  if (built.length === 0) return;
  const { docker } = dockerEndpoint(config.env);
  for (const tag of built)
    await docker
      .getImage(tag)
      .remove({ force: true })
      .catch(() => undefined);
}
