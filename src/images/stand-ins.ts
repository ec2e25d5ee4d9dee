import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type Docker from 'dockerode';
import { execa } from 'execa';
import { UserError } from '../errors.js';
import type { Log } from '../log.js';
import { hashInputs } from './hash.js';
import { run, step } from './steps.js';

const INPUTS_LABEL = 'dev.realstack.inputs';

async function labelOf(docker: Docker, tag: string): Promise<string | undefined> {
  try {
    const info = await docker.getImage(tag).inspect();
    return info.Config.Labels?.[INPUTS_LABEL];
  } catch {
    return undefined;
  }
}

/**
 * Builds `tag` unless an image with that tag was built from the same inputs: the second run
 * with nothing changed does nothing, and says so.
 */
async function cached(
  docker: Docker,
  log: Log,
  tag: string,
  inputs: string,
  build: () => Promise<void>,
): Promise<void> {
  if ((await labelOf(docker, tag)) === inputs) {
    log(`  ${tag}: up to date`);
    return;
  }
  await step(log, `build ${tag}`, build);
}

export interface StandIns {
  node: string;
  postgres: string;
}

/**
 * Local images standing in for the official node and postgres ones, for machines that cannot
 * pull: a debootstrap'ed Debian, the host's Node binary on it, and Debian's PostgreSQL.
 */
export async function buildStandIns(
  docker: Docker,
  imagesDir: string,
  env: NodeJS.ProcessEnv,
  log: Log,
): Promise<StandIns> {
  const suite = env.REALSTACK_DEBIAN_SUITE || 'bookworm';
  const mirror = env.REALSTACK_DEBIAN_MIRROR || 'http://deb.debian.org/debian';
  const debian = `realstack/debian:${suite}`;
  const debianInputs = hashInputs({ values: ['minbase', suite, mirror] });
  await cached(docker, log, debian, debianInputs, async () => {
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
      await run(which.stdout.trim(), ['--variant=minbase', suite, root, mirror]);
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
  const debianId = (await docker.getImage(debian).inspect()).Id;

  const node = `realstack/node:${process.versions.node}`;
  const nodeDir = path.join(imagesDir, 'node');
  const nodeInputs = hashInputs({ files: [nodeDir, process.execPath], values: [debianId] });
  await cached(docker, log, node, nodeInputs, async () => {
    const ctx = mkdtempSync(path.join(os.tmpdir(), 'realstack-node-'));
    try {
      copyFileSync(path.join(nodeDir, 'Dockerfile'), path.join(ctx, 'Dockerfile'));
      copyFileSync(process.execPath, path.join(ctx, 'node'));
      await dockerBuild(ctx, node, nodeInputs, { DEBIAN_IMAGE: debian });
    } finally {
      rmSync(ctx, { recursive: true, force: true });
    }
  });

  const postgres = 'realstack/postgres:15';
  const pgDir = path.join(imagesDir, 'postgres');
  const pgInputs = hashInputs({ files: [pgDir], values: [debianId] });
  await cached(docker, log, postgres, pgInputs, () =>
    dockerBuild(pgDir, postgres, pgInputs, { DEBIAN_IMAGE: debian }),
  );
  return { node, postgres };
}

/** docker build, labelled with its inputs' hash; the classic builder needs no BuildKit or buildx. */
export async function dockerBuild(
  context: string,
  tag: string,
  inputs: string,
  args: Record<string, string>,
  dockerfile = path.join(context, 'Dockerfile'),
): Promise<void> {
  const buildArgs = Object.entries(args).flatMap(([k, v]) => ['--build-arg', `${k}=${v}`]);
  // --force-rm: a failed step must not leave its intermediate container behind.
  await run(
    'docker',
    [
      'build',
      '--force-rm',
      '--label',
      `${INPUTS_LABEL}=${inputs}`,
      ...buildArgs,
      '-f',
      dockerfile,
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
