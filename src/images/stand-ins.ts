import { copyFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import type { DockerEndpoint } from '../engine/docker.js';
import { imageId, inspectImage } from '../engine/docker-api.js';
import { UserError } from '../errors.js';
import type { Log } from '../log.js';
import { packageRoot } from '../util/package-root.js';
import { hashInputs } from './hash.js';
import { run, step } from './steps.js';

/** On every image realstack builds: the hash of what it was built from. */
export const INPUTS_LABEL = 'dev.realstack.inputs';
/** On a service's image: the project it was built for, so that `cleanup` knows when that is gone. */
export const PROJECT_DIR_LABEL = 'dev.realstack.project-dir';

export async function labelOf(endpoint: DockerEndpoint, tag: string): Promise<string | undefined> {
  try {
    return (await inspectImage(endpoint, tag))?.Config.Labels?.[INPUTS_LABEL];
  } catch {
    return undefined;
  }
}

/**
 * Builds `tag` unless an image with that tag was built from the same inputs: the second run
 * with nothing changed does nothing, and says so.
 */
async function cached(
  endpoint: DockerEndpoint,
  log: Log,
  tag: string,
  inputs: string,
  build: () => Promise<void>,
): Promise<void> {
  if ((await labelOf(endpoint, tag)) === inputs) {
    log(`  ${tag}: up to date`);
    return;
  }
  await step(log, `build ${tag}`, build);
}

export type StandInKind = 'node' | 'postgres' | 'redis' | 'nginx' | 'mariadb' | 'mysql';

/** What each stand-in is, for the warning that says what actually runs. */
export const STAND_IN_VERSIONS: Record<StandInKind, string> = {
  node: `Node ${process.versions.node} on Debian bookworm`,
  postgres: 'PostgreSQL 15 on Debian bookworm',
  redis: 'Redis 7.0 on Debian bookworm',
  nginx: 'nginx 1.22 on Debian bookworm',
  mariadb: 'MariaDB 10.11 on Debian bookworm',
  // Said as it is: MySQL clients speak to it, but it is not MySQL 8 (no caching_sha2_password, some SQL differs).
  mysql: 'MariaDB 10.11 on Debian bookworm, not MySQL',
};

/** The stand-ins made of Debian's packages and an entrypoint: their tag, and their folder under images/. */
const PACKAGED: Record<Exclude<StandInKind, 'node'>, { tag: string; dir: string }> = {
  postgres: { tag: 'realstack/postgres:15', dir: 'postgres' },
  redis: { tag: 'realstack/redis:7', dir: 'redis' },
  nginx: { tag: 'realstack/nginx:1.22', dir: 'nginx' },
  mariadb: { tag: 'realstack/mariadb:10.11', dir: 'mariadb' },
  mysql: { tag: 'realstack/mariadb:10.11', dir: 'mariadb' },
};

/**
 * What the official images have and users' health checks call (`curl -f`, `wget -q --spider`):
 * the full node image has both, alpine's has busybox's wget.
 */
const TOOLS = ['curl', 'wget'];

async function debianBase(endpoint: DockerEndpoint, env: NodeJS.ProcessEnv, log: Log): Promise<string> {
  const suite = env.REALSTACK_DEBIAN_SUITE || 'bookworm';
  const mirror = env.REALSTACK_DEBIAN_MIRROR || 'http://deb.debian.org/debian';
  const debian = `realstack/debian:${suite}`;
  const debianInputs = hashInputs({ values: ['minbase', suite, mirror, ...TOOLS] });
  await cached(endpoint, log, debian, debianInputs, async () => {
    const which = await execa('sh', ['-c', 'command -v debootstrap'], {
      reject: false,
      env: { PATH: `${env.PATH}:/usr/sbin:/sbin` },
    });
    if (which.exitCode !== 0) {
      throw new UserError(
        'debootstrap is not installed: `apt-get install debootstrap` (it builds the Debian base of the stand-in images).',
      );
    }
    const root = mkdtempSync(path.join(os.tmpdir(), 'realstack-rootfs-'));
    try {
      await run(which.stdout.trim(), [
        '--variant=minbase',
        `--include=${TOOLS.join(',')}`,
        suite,
        root,
        mirror,
      ]);
      // Not buffered: the root filesystem is hundreds of MB, past execa's buffer limit.
      await execa('tar', ['-C', root, '-c', '.'], { buffer: false }).pipe(
        'docker',
        [
          'import',
          '--change',
          `LABEL ${INPUTS_LABEL}=${debianInputs}`,
          '--change',
          'CMD ["bash"]',
          '-',
          debian,
        ],
        { all: true },
      );
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
  return debian;
}

/**
 * The npm and corepack that came with the host's Node (its archives and Debian's packages put
 * them in lib/node_modules beside bin/node). The official image has both, and compose files run
 * `npm start` as often as `node`: the stand-in carries them too.
 */
function hostNodeTools(): { name: string; version: string; dir: string }[] {
  const modules = path.join(path.dirname(process.execPath), '..', 'lib', 'node_modules');
  return ['npm', 'corepack'].flatMap((name) => {
    const dir = path.join(modules, name);
    if (!existsSync(path.join(dir, 'package.json'))) return [];
    const { version } = JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')) as {
      version: string;
    };
    return [{ name, version, dir }];
  });
}

/**
 * A local image standing in for an official one (node, postgres, redis, nginx, mariadb, mysql),
 * for machines that cannot pull: a debootstrap'ed Debian, with the host's own Node binary or
 * Debian's package. The definitions come with realstack (images/), and tags are by content:
 * every project on the machine shares them.
 */
export async function standIn(
  endpoint: DockerEndpoint,
  kind: StandInKind,
  env: NodeJS.ProcessEnv,
  log: Log,
): Promise<string> {
  const debian = await debianBase(endpoint, env, log);
  const debianId = await imageId(endpoint, debian);
  if (kind === 'node') {
    const dir = path.join(packageRoot(), 'images', 'node');
    const node = `realstack/node:${process.versions.node}`;
    const tools = hostNodeTools();
    const inputs = hashInputs({
      base: dir,
      files: [dir],
      values: [debianId, process.versions.node, ...tools.map((t) => `${t.name}@${t.version}`)],
    });
    await cached(endpoint, log, node, inputs, async () => {
      const ctx = mkdtempSync(path.join(os.tmpdir(), 'realstack-node-'));
      try {
        copyFileSync(path.join(dir, 'Dockerfile'), path.join(ctx, 'Dockerfile'));
        copyFileSync(process.execPath, path.join(ctx, 'node'));
        mkdirSync(path.join(ctx, 'lib', 'node_modules'), { recursive: true });
        // Links inside the packages stay relative, as they are: the image has them elsewhere.
        for (const t of tools)
          cpSync(t.dir, path.join(ctx, 'lib', 'node_modules', t.name), {
            recursive: true,
            verbatimSymlinks: true,
          });
        await dockerBuild(ctx, node, inputs, { DEBIAN_IMAGE: debian, NODE_VERSION: process.versions.node });
      } finally {
        rmSync(ctx, { recursive: true, force: true });
      }
    });
    return node;
  }
  const { tag, dir: folder } = PACKAGED[kind];
  const dir = path.join(packageRoot(), 'images', folder);
  // What the database stand-ins' entrypoints share (images/shared) goes into each context.
  const shared = path.join(packageRoot(), 'images', 'shared');
  const inputs = hashInputs({ base: path.dirname(dir), files: [dir, shared], values: [debianId] });
  await cached(endpoint, log, tag, inputs, async () => {
    const ctx = mkdtempSync(path.join(os.tmpdir(), `realstack-${folder}-`));
    try {
      cpSync(dir, ctx, { recursive: true });
      cpSync(shared, ctx, { recursive: true });
      await dockerBuild(ctx, tag, inputs, { DEBIAN_IMAGE: debian });
    } finally {
      rmSync(ctx, { recursive: true, force: true });
    }
  });
  return tag;
}

/** docker build, labelled with its inputs' hash; the classic builder needs no BuildKit or buildx. */
export async function dockerBuild(
  context: string,
  tag: string,
  inputs: string,
  args: Record<string, string>,
  labels: Record<string, string> = {},
): Promise<void> {
  const buildArgs = Object.entries(args).flatMap(([k, v]) => ['--build-arg', `${k}=${v}`]);
  const more = Object.entries(labels).flatMap(([k, v]) => ['--label', `${k}=${v}`]);
  // --force-rm: a failed step must not leave its intermediate container behind.
  await run(
    'docker',
    [
      'build',
      '--force-rm',
      '--label',
      `${INPUTS_LABEL}=${inputs}`,
      ...more,
      ...buildArgs,
      '-t',
      tag,
      context,
    ],
    {
      env: { ...process.env, DOCKER_BUILDKIT: '0' },
    },
  );
}

export { cached };
