import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import type { ToolkitConfig } from '../config/toolkit.js';
import { projectOutputs } from '../conventions/outputs.js';
import { findComposeCli } from '../engine/compose-cli.js';
import { readableBy } from '../engine/compose-v1.js';
import { dockerEndpoint } from '../engine/docker.js';
import { imageId } from '../engine/docker-api.js';
import { runFile } from '../engine/run-file.js';
import { UserError } from '../errors.js';
import type { Log } from '../log.js';
import { type Dockerfile, type Replacement, readDockerfile, withBases } from '../stack/dockerfile.js';
import type { ServiceSpec, StackSpec } from '../stack/spec.js';
import { writeFileWhole } from '../util/files.js';
import { registryHint } from './build-failure.js';
import { hashContext, hashInputs, sentToBuild } from './hash.js';
import { stageHostModules } from './host-build.js';
import { hostInstalls, type NpmInstall, npmInstalls } from './host-installs.js';
import { ImageResolver, type ResolveOptions } from './resolve.js';
import { INPUTS_LABEL, labelOf, PROJECT_DIR_LABEL } from './stand-ins.js';
import { builtImageTag, type ImagesState, projectKey, readImagesState, writeImagesState } from './state.js';
import { step } from './steps.js';

/**
 * The base images of a service built from its Dockerfile: each stage's FROM, with the build
 * arg it comes from. A base that cannot be pulled gets a stand-in: through its build arg when
 * it names one, else in a copy of the Dockerfile whose FROM says so (`rewritten`).
 */
async function buildBases(
  svc: ServiceSpec,
  resolver: ImageResolver,
): Promise<{
  args: Record<string, string>;
  bases: string[];
  file: Dockerfile;
  rewritten?: Map<number, string>;
  /** The image each stage starts from, a stage built FROM another one included. */
  stageBases: string[];
}> {
  const build = svc.build as NonNullable<ServiceSpec['build']>;
  const file = readDockerfile(build.dockerfile, build.args, build.target);
  if (!file)
    throw new UserError(
      `service "${svc.name}" builds from ${build.dockerfile}, which does not exist: fix build.dockerfile (it is relative to build.context).`,
    );
  const args: Record<string, string> = {};
  const bases: string[] = [];
  const rewritten = new Map<number, string>();
  const stageBases: string[] = [];
  for (const [i, stage] of file.stages.entries()) {
    const image = file.from[i] as string;
    if (stage.parent !== undefined) {
      stageBases.push(stageBases[stage.parent] as string);
      continue;
    }
    if (image === 'scratch') {
      stageBases.push(image);
      continue;
    }
    const arg = /^\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?$/.exec(stage.written)?.[1];
    const chosen = await resolver.resolve(image, `service "${svc.name}" (its Dockerfile's FROM)`);
    if (chosen !== image) {
      if (arg) args[arg] = chosen;
      else rewritten.set(i, chosen);
    }
    bases.push(chosen);
    stageBases.push(chosen);
  }
  return { args, bases, file, stageBases, ...(rewritten.size > 0 ? { rewritten } : {}) };
}

/**
 * A copy of a service's Dockerfile with the bases of some stages (by index) put in place, and
 * its npm installs when they come from this machine, under .realstack/images/: the user's file
 * is never changed, and compose builds from the copy with the same context (and .dockerignore).
 */
function rewriteDockerfile(
  config: ToolkitConfig,
  svc: ServiceSpec,
  parsed: Dockerfile,
  bases: Map<number, string>,
  more: Replacement[] = [],
): string {
  const file = path.join(config.stateDir, 'images', `${svc.name}.Dockerfile`);
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileWhole(
    file,
    withBases((svc.build as NonNullable<ServiceSpec['build']>).dockerfile, parsed, bases, more),
  );
  return file;
}

/**
 * Everything the docker engine needs for a stack, each only when its inputs changed: staged
 * production node_modules (hostModules), the image of every service (official, pulled, mapped
 * or a stand-in), and the images of services with `build:`, built as compose builds them,
 * from the user's own Dockerfile, tagged per project. The choices are kept for every later run.
 */
export async function ensureImages(
  config: ToolkitConfig,
  stack: StackSpec,
  log: Log,
  options: ResolveOptions,
): Promise<ImagesState> {
  // dockerode loads only for a shared build's tag: an `up` with nothing to build looks at its
  // images with plain GETs (docker-api.ts) and loads it later, while compose runs.
  const endpoint = dockerEndpoint(config.env);
  const previous = readImagesState(config);
  await stageHostModules(config, stack, log);
  const resolver = new ImageResolver(endpoint, config, log, options, previous.resolved);
  const run: ImagesState['run'] = { images: {}, buildArgs: {} };
  const toBuild: {
    svc: ServiceSpec;
    inputs: string;
    tag: string;
    parsed: Awaited<ReturnType<typeof buildBases>>;
    installs: NpmInstall[];
  }[] = [];
  const contexts = new Map<string, string>();
  // One build serves every service that builds the same thing: a compose file's api, worker and
  // migrate often share `build: .` through a YAML anchor and differ only in their command.
  const built = new Map<string, string>();
  const sameAs: { tag: string; from: string }[] = [];
  for (const svc of stack.services) {
    if (!svc.build) {
      if (!svc.image)
        throw new UserError(`service "${svc.name}" has neither "image" nor "build": give it one.`);
      const chosen = await resolver.resolve(svc.image, `service "${svc.name}"`);
      if (chosen !== svc.image) run.images[svc.name] = chosen;
      continue;
    }
    const parsed = await buildBases(svc, resolver);
    const { args, bases, file, rewritten } = parsed;
    if (Object.keys(args).length > 0) run.buildArgs[svc.name] = args;
    if (rewritten) {
      run.dockerfiles ??= {};
      run.dockerfiles[svc.name] = rewriteDockerfile(config, svc, file, rewritten);
      log(
        `  ${svc.name}: built from ${path.relative(config.projectDir, run.dockerfiles[svc.name])}, a copy of its Dockerfile with ${[...rewritten.values()].join(', ')} in its FROM`,
      );
    }
    const tag = builtImageTag(config.projectDir, svc.name);
    run.images[svc.name] = tag;
    if (svc.image && svc.image !== tag)
      log(
        `  ${svc.name}: built as ${tag} (not ${svc.image}), so that two checkouts never move each other's tags`,
      );
    const baseIds = await Promise.all(bases.map((b) => imageId(endpoint, b)));
    // Services built from one context (the reference stack's two) hash it once: 0.3 s each.
    let context = contexts.get(svc.build.context);
    if (context === undefined) {
      const outputs = projectOutputs(config);
      context = hashContext(svc.build.context, {
        cacheFile: path.join(
          config.stateDir,
          'images',
          `context-${hashInputs({ values: [svc.build.context] })}.json`,
        ),
        skip: outputs,
      });
      contexts.set(svc.build.context, context);
      const sent = sentToBuild(svc.build.context, outputs.filter(existsSync));
      if (sent.length > 0)
        log(
          `  warning: the build context of ${svc.name} (${path.relative(config.projectDir, svc.build.context) || '.'}) sends realstack's ${sent.join(', ')} to docker build (its runs and logs, the stack's generated secrets): a COPY . would put them in the image. Add them to its .dockerignore (\`npx realstack init\` does).`,
        );
    }
    // An install that may come from this machine's packages is as new as their lock file.
    const installs = npmInstalls(file, config.projectDir, svc.build.context);
    const inputs = hashInputs({
      base: config.projectDir,
      files: [...new Set(installs.flatMap((i) => (i.lock ? [i.lock] : [])))],
      values: [
        context,
        readFileSync(svc.build.dockerfile, 'utf8'),
        JSON.stringify({ ...svc.build.args, ...args }),
        ...baseIds,
      ],
    });
    const same = `${inputs} ${JSON.stringify(svc.build)}`;
    const from = built.get(same);
    if ((await labelOf(endpoint, tag)) === inputs) {
      log(`  ${tag}: up to date`);
      built.set(same, tag);
    } else if (from) sameAs.push({ tag, from });
    else {
      toBuild.push({ svc, inputs, tag, parsed, installs });
      built.set(same, tag);
    }
  }
  // Whether builds reach the registry is asked only of a build that is going to run.
  for (const { svc, parsed, installs } of toBuild) {
    const replacements = await hostInstalls(config, svc.name, { ...parsed, installs }, log);
    if (replacements.length === 0) continue;
    run.dockerfiles ??= {};
    run.dockerfiles[svc.name] = rewriteDockerfile(
      config,
      svc,
      parsed.file,
      parsed.rewritten ?? new Map(),
      replacements,
    );
  }
  if (toBuild.length > 0) await composeBuild(config, stack, run, toBuild, log);
  for (const { tag, from } of sameAs) {
    const at = tag.lastIndexOf(':');
    await endpoint.docker.getImage(from).tag({ repo: tag.slice(0, at), tag: tag.slice(at + 1) });
    log(`  ${tag}: the image of ${from}, whose build is the same (context, Dockerfile, arguments, target)`);
  }
  const state: ImagesState = {
    ...readImagesState(config),
    resolved: { ...previous.resolved, ...resolver.decisions },
    run,
  };
  writeImagesState(config, state);
  return state;
}

/** `compose build` of the services that changed, from a compose file of their own. */
async function composeBuild(
  config: ToolkitConfig,
  stack: StackSpec,
  run: ImagesState['run'],
  services: { svc: ServiceSpec; inputs: string; tag: string }[],
  log: Log,
): Promise<void> {
  const cli = await findComposeCli(config.env);
  const file = readableBy(cli, runFile(stack, { labels: {}, ...run }), log);
  const byName = file.services as Record<string, { build: Record<string, unknown> }>;
  for (const { svc, inputs } of services)
    byName[svc.name].build.labels = { [INPUTS_LABEL]: inputs, [PROJECT_DIR_LABEL]: config.projectDir };
  // A build mounts no secret or config: those whose text is the compose file's have no file yet.
  delete file.secrets;
  delete file.configs;
  for (const svc of Object.values(byName) as Record<string, unknown>[]) {
    delete svc.secrets;
    delete svc.configs;
  }
  const fileName = path.join(config.stateDir, 'images', 'build.json');
  mkdirSync(path.dirname(fileName), { recursive: true });
  writeFileSync(fileName, JSON.stringify(file, null, 2), { mode: 0o600 });
  const { host } = dockerEndpoint(config.env);
  for (const { svc, tag } of services) {
    await step(
      log,
      `build ${tag} (service ${svc.name}, ${path.relative(config.projectDir, svc.build?.dockerfile ?? '') || 'Dockerfile'})`,
      () =>
        execa(
          cli.command,
          [
            ...cli.prefix,
            '-p',
            `realstack-build-${projectKey(config.projectDir)}`,
            '--project-directory',
            stack.projectDir,
            '-f',
            fileName,
            'build',
            // A failed step must not leave its intermediate container behind.
            '--force-rm',
            svc.name,
          ],
          // The classic builder: no BuildKit or buildx needed, and compose v1 and v2 build alike.
          {
            env: {
              ...config.env,
              ...cli.env,
              DOCKER_HOST: host,
              DOCKER_BUILDKIT: '0',
              COMPOSE_DOCKER_CLI_BUILD: '0',
            },
            all: true,
          },
        ),
      undefined,
      (output) => registryHint(output, svc.name),
    );
  }
}
