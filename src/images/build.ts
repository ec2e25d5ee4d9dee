import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import type Docker from 'dockerode';
import type { ToolkitConfig } from '../config.js';
import { dockerEndpoint } from '../engine/docker.js';
import type { Log } from '../log.js';
import { loadStack } from '../stack/compose.js';
import { hashInputs } from './hash.js';
import { stageProductionModules } from './production-modules.js';
import { buildStandIns, cached, dockerBuild } from './stand-ins.js';
import { run, step } from './steps.js';

export const OFFICIAL = {
  NODE_IMAGE: 'node:20-bookworm-slim',
  POSTGRES_IMAGE: 'postgres:16-bookworm',
} as const;

/** What `realstack images` chose, read back by every later compose call. */
export interface ImagesState {
  base?: { NODE_IMAGE: string; POSTGRES_IMAGE: string };
  artifacts?: string;
}

export const imagesStateFile = (config: ToolkitConfig) => path.join(config.stateDir, 'images.json');

export function readImagesState(config: ToolkitConfig): ImagesState {
  try {
    return JSON.parse(readFileSync(imagesStateFile(config), 'utf8')) as ImagesState;
  } catch {
    return {};
  }
}

function writeImagesState(config: ToolkitConfig, state: ImagesState): void {
  mkdirSync(config.stateDir, { recursive: true });
  writeFileSync(imagesStateFile(config), `${JSON.stringify(state, null, 2)}\n`);
}

async function present(docker: Docker, tag: string): Promise<boolean> {
  return docker
    .getImage(tag)
    .inspect()
    .then(
      () => true,
      () => false,
    );
}

/** Official image when it is here or can be pulled; else null, and stand-ins are built. */
async function tryOfficial(docker: Docker, tag: string, log: Log): Promise<boolean> {
  if (await present(docker, tag)) return true;
  const pull = await run('docker', ['pull', tag]).catch((e: { all?: string }) => e);
  if ('exitCode' in pull && pull.exitCode === 0) return true;
  log(
    `  ${tag}: cannot be pulled (${String((pull as { all?: string }).all ?? '')
      .split('\n')
      .at(-1)
      ?.slice(0, 240)})`,
  );
  return false;
}

export interface ImagesOptions {
  /** Skip the official images and build stand-ins even when a registry answers. */
  standIns?: boolean;
  /** Keep the base images chosen last time while they are present: no pull attempt on every `up`. */
  reuseBase?: boolean;
}

/**
 * Everything the docker engine needs, built only when its inputs changed: compiled dist/,
 * each service's production node_modules, base images (official or stand-ins), and the
 * service images, built from those host-side artifacts with no network.
 */
export async function ensureImages(
  config: ToolkitConfig,
  log: Log,
  options: ImagesOptions = {},
): Promise<ImagesState> {
  const { docker } = dockerEndpoint(config.env);
  const state = readImagesState(config);
  const dir = config.projectDir;
  const stack = loadStack(config.composeFiles, config.env);

  log('images: host artifacts');
  const sources = hashInputs({
    files: [
      path.join(dir, 'services'),
      path.join(dir, 'tsconfig.json'),
      path.join(dir, 'package-lock.json'),
    ].filter(existsSync),
  });
  if (state.artifacts === sources && existsSync(path.join(dir, 'dist', 'services'))) {
    log('  dist/ and production node_modules: up to date');
  } else {
    const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
    await step(log, 'compile TypeScript (tsc)', () =>
      run(process.execPath, [tsc, '-p', 'tsconfig.json'], { cwd: dir }),
    );
    for (const svc of stack.services.filter((s) => s.build && s.role === 'node')) {
      const workspace = `services/${svc.name}`;
      await step(log, `stage production node_modules for ${svc.name}`, async () =>
        stageProductionModules(dir, workspace, path.join(dir, 'build', svc.name)),
      );
    }
    state.artifacts = sources;
    writeImagesState(config, state);
  }

  log('images: base images');
  const wanted = { NODE_IMAGE: config.env.NODE_IMAGE, POSTGRES_IMAGE: config.env.POSTGRES_IMAGE };
  let base: { NODE_IMAGE: string; POSTGRES_IMAGE: string };
  const previous = state.base;
  if (wanted.NODE_IMAGE && wanted.POSTGRES_IMAGE) {
    base = { NODE_IMAGE: wanted.NODE_IMAGE, POSTGRES_IMAGE: wanted.POSTGRES_IMAGE };
    log(`  from the environment: ${base.NODE_IMAGE}, ${base.POSTGRES_IMAGE}`);
  } else if (
    options.reuseBase &&
    previous &&
    (await present(docker, previous.NODE_IMAGE)) &&
    (await present(docker, previous.POSTGRES_IMAGE))
  ) {
    base = previous;
    log(
      `  as chosen before: ${base.NODE_IMAGE}, ${base.POSTGRES_IMAGE} (\`realstack images\` chooses again)`,
    );
  } else if (
    !options.standIns &&
    (await tryOfficial(docker, OFFICIAL.NODE_IMAGE, log)) &&
    (await tryOfficial(docker, OFFICIAL.POSTGRES_IMAGE, log))
  ) {
    base = { ...OFFICIAL };
    log(`  official: ${base.NODE_IMAGE}, ${base.POSTGRES_IMAGE}`);
  } else {
    log('  the official images are out of reach: local stand-ins');
    const standIns = await buildStandIns(docker, path.join(dir, 'images'), config.env, log);
    base = { NODE_IMAGE: standIns.node, POSTGRES_IMAGE: standIns.postgres };
  }
  state.base = base;
  writeImagesState(config, state);

  log('images: services');
  const env = { ...config.env, ...base };
  const nodeImageId = (await docker.getImage(base.NODE_IMAGE).inspect()).Id;
  for (const svc of loadStack(config.composeFiles, env).services) {
    if (!svc.build || !svc.image) continue;
    const build = svc.build;
    const inputs = hashInputs({
      files: [build.dockerfile, path.join(dir, 'dist', 'services'), path.join(dir, 'build', svc.name)],
      values: [nodeImageId, JSON.stringify(build.args)],
    });
    await cached(docker, log, svc.image, inputs, () =>
      dockerBuild(build.context, svc.image as string, inputs, build.args, build.dockerfile),
    );
  }
  return state;
}
