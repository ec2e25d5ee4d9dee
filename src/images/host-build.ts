import { existsSync } from 'node:fs';
import path from 'node:path';
import type { ToolkitConfig } from '../config/toolkit.js';
import type { Log } from '../log.js';
import type { StackSpec } from '../stack/spec.js';
import { withFileLock } from '../util/lock.js';
import { hashInputs } from './hash.js';
import { stageInstall } from './production-modules.js';
import { readImagesState, writeImagesState } from './state.js';
import { run, step } from './steps.js';

/** How long a command waits for another's host build of the same project: a cold build's time. */
const HOST_BUILD_WAIT_MS = 15 * 60_000;

/**
 * The project's own build (realstack.json images.hostBuild), run before a stack starts when
 * its inputs changed since the last time: what the images copy and the process engine runs is
 * then never older than the sources. Nothing runs unless the project asks for it.
 */
export async function runHostBuild(
  config: ToolkitConfig,
  log: Log,
  engine: 'process' | 'docker',
): Promise<void> {
  const build = config.project.images.hostBuild;
  if (!build) return;
  const label = build.command.join(' ');
  if (build.engines && !build.engines.includes(engine)) {
    log(`host build (${label}): not for the ${engine} engine (images.hostBuild.engines)`);
    return;
  }
  // Two commands of one project at once (`images` beside a run's `up`) would build over each
  // other's output: one builds, the other waits for it and then finds the build up to date.
  await withFileLock(
    path.join(config.stateDir, 'host-build'),
    async () => {
      const hashNow = () =>
        hashInputs({
          base: config.projectDir,
          files: build.inputs.map((f) => path.resolve(config.projectDir, f)),
          values: build.command,
        });
      if (readImagesState(config).hostBuild === hashNow()) {
        log(`host build (${label}): up to date`);
        return;
      }
      const [cmd, ...args] = build.command as [string, ...string[]];
      await step(
        log,
        `host build: ${label}`,
        () => run(cmd, args, { cwd: config.projectDir, env: config.env }),
        'the host build (realstack.json images.hostBuild) failed, so nothing starts from an old build',
      );
      // Taken after the build: an output among the inputs (a workspace package's dist/, which a
      // monorepo's `pnpm --filter api... build` writes) is then as the build left it, not a change.
      writeImagesState(config, { ...readImagesState(config), hostBuild: hashNow() });
    },
    {
      timeoutMs: HOST_BUILD_WAIT_MS,
      onWait: (pid) => log(`host build (${label}): waiting for process ${pid}, which runs it`),
    },
  );
}

/** The folder a service's staged production node_modules go to, for its Dockerfile to COPY. */
export const hostModulesDir = (projectDir: string, service: string) =>
  path.join(projectDir, 'build', service);

/**
 * For services with `hostModules`: the production packages of that package folder, copied
 * from the host's install (package-lock.json says which) into build/<service>/node_modules,
 * so that a Dockerfile can COPY them and no `npm install` has to run inside a build.
 */
export async function stageHostModules(config: ToolkitConfig, stack: StackSpec, log: Log): Promise<void> {
  const lock = path.join(config.projectDir, 'package-lock.json');
  for (const svc of stack.services.filter((s) => s.hostModules)) {
    const pkg = path
      .normalize(svc.hostModules as string)
      .replace(/^\.$/, '')
      .replace(/\/$/, '');
    const out = hostModulesDir(config.projectDir, svc.name);
    const state = readImagesState(config);
    const inputs = hashInputs({ base: config.projectDir, files: [lock], values: [pkg] });
    if (state.modules?.[svc.name] === inputs && existsSync(path.join(out, 'node_modules'))) continue;
    await step(log, `stage production node_modules of ${pkg || 'the project'} for ${svc.name}`, async () =>
      stageInstall(config.projectDir, pkg, out),
    );
    writeImagesState(config, {
      ...readImagesState(config),
      modules: { ...state.modules, [svc.name]: inputs },
    });
  }
}
