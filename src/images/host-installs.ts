import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { ToolkitConfig } from '../config/toolkit.js';
import { dockerEndpoint } from '../engine/docker.js';
import { UserError } from '../errors.js';
import type { Log } from '../log.js';
import type { Dockerfile, Replacement, RunStep } from '../stack/dockerfile.js';
import { INSTALLS_PACKAGES } from './build-failure.js';
import { hashInputs } from './hash.js';
import { stageInstall } from './production-modules.js';
import { dockerBuild, labelOf, PROJECT_DIR_LABEL } from './stand-ins.js';
import { builtImageTag } from './state.js';
import { run, step } from './steps.js';

/**
 * A Dockerfile's `RUN npm ci` needs the npm registry inside the build. Where builds cannot reach
 * it (this kind of CI has Debian's mirror only), npm waits out its timeouts, minutes, and fails.
 * realstack then serves the install from what this machine installed (the same lock file): the
 * packages go into an image of their own, and the build's copy of the Dockerfile copies them
 * where `npm ci` would have put them. The user's Dockerfile is never changed.
 */

/** One RUN's commands, split at `&&` and `;`; an npm install of the stage's package folder says which packages. */
interface Part {
  command: string;
  install?: 'all' | 'production';
}

export interface NpmInstall {
  instruction: RunStep;
  parts: Part[];
  /** The package folder on this machine, and the package-lock.json that covers it, if one does. */
  folder: string;
  lock?: string;
}

const INSTALL = new Set(['ci', 'clean-install', 'install', 'i', 'isntall']);
/** Flags whose value may follow as the next word. */
const VALUED = new Set([
  '--omit',
  '--only',
  '--include',
  '--loglevel',
  '--cache',
  '--registry',
  '--userconfig',
]);
/** Flags that install elsewhere than the stage's package folder. */
const ELSEWHERE = /^(-g|--global|--prefix|-w|--workspace|--location)\b/;

/** Which packages an npm command installs in the package folder, or undefined when it does something else. */
export function npmInstallKind(command: string, nodeEnv?: string): Part['install'] {
  const [npm, sub, ...words] = command.trim().split(/\s+/);
  if (npm !== 'npm' || !INSTALL.has(sub ?? '')) return undefined;
  // npm leaves dev packages out under NODE_ENV=production unless told otherwise.
  let production = nodeEnv === 'production';
  for (let i = 0; i < words.length; i++) {
    const word = words[i] as string;
    // A package named (`npm install pm2`) is not the folder's install.
    if (!word.startsWith('-') || ELSEWHERE.test(word)) return undefined;
    const [flag, inline] = word.split('=') as [string, string?];
    const value = inline ?? (VALUED.has(flag) ? words[++i] : undefined);
    if (flag === '--production') production = value !== 'false';
    else if (flag === '--omit' && value === 'dev') production = true;
    else if (flag === '--include' && value === 'dev') production = false;
    else if (flag === '--only') production = /^prod/.test(value ?? '');
  }
  return production ? 'production' : 'all';
}

/**
 * The RUN lines of a Dockerfile that install its package folder's dependencies with npm. One
 * whose shell does more than run commands one after another (pipes, `||`, quoting, a `cd`
 * before the install) is left as written: a copy could not keep its meaning.
 */
export function npmInstalls(file: Dockerfile, projectDir: string, context: string): NpmInstall[] {
  return file.runs.flatMap((instruction) => {
    const parts: Part[] = instruction.command.split(/\s*(?:&&|;)\s*/).map((command) => {
      const install = npmInstallKind(command, instruction.nodeEnv);
      return install ? { command, install } : { command };
    });
    const first = parts.findIndex((p) => p.install);
    if (first < 0) return [];
    if (/\|\||[|'"`\\]|\$\(/.test(instruction.command)) return [];
    if (parts.slice(0, first).some((p) => /^cd\b/.test(p.command))) return [];
    const folder = path.resolve(context, instruction.packageDir ?? '.');
    const lock = lockFor(projectDir, folder);
    return [{ instruction, parts, folder, ...(lock ? { lock } : {}) }];
  });
}

/** Where the packages image keeps one package folder's packages of one kind. */
const packagesPath = (packageDir: string, kind: 'all' | 'production') =>
  path.posix.join('/packages', kind, packageDir, 'node_modules');

/** The RUN as the build's copy of the Dockerfile has it: the rest of its commands kept, in order. */
function replacement(install: NpmInstall, image: string): Replacement {
  const text = [
    `# realstack: \`RUN ${install.instruction.command}\`: the registry is out of reach of builds here, so its packages come from this machine's install`,
  ];
  let pending: string[] = [];
  const flush = () => {
    if (pending.length > 0) text.push(`RUN ${pending.join(' && ')}`);
    pending = [];
  };
  for (const part of install.parts) {
    if (!part.install) {
      pending.push(part.command);
      continue;
    }
    flush();
    const chown = install.instruction.user ? ` --chown=${install.instruction.user}` : '';
    text.push(
      `COPY --from=${image}${chown} ${packagesPath(install.instruction.packageDir ?? '.', part.install)} ./node_modules`,
    );
  }
  flush();
  return { lines: install.instruction.lines, text };
}

/** The package-lock.json that covers a package folder: in it, or in a folder above it within the project. */
function lockFor(projectDir: string, packageFolder: string): string | undefined {
  for (let dir = packageFolder; ; dir = path.dirname(dir)) {
    const lock = path.join(dir, 'package-lock.json');
    if (existsSync(lock)) return lock;
    if (dir === projectDir || !dir.startsWith(`${projectDir}${path.sep}`)) return undefined;
  }
}

const registry = (env: NodeJS.ProcessEnv) => env.npm_config_registry || 'https://registry.npmjs.org/';

/**
 * A request to the registry from inside a container, as npm would make it: exit 0 on any answer,
 * 3 on none within 5 s (no route, a proxy whose certificate the image does not trust, DNS).
 */
const PROBE = `const u = new URL('-/ping', process.argv[1]);
const req = require(u.protocol === 'http:' ? 'http' : 'https').get(u, () => process.exit(0));
req.setTimeout(5000, () => process.exit(3));
req.on('error', () => process.exit(3));`;

/**
 * Whether a container of this image reaches the npm registry, as a build's RUN would: true,
 * false, or undefined when the image cannot say (no node in it).
 */
async function reachesRegistry(image: string, config: ToolkitConfig): Promise<boolean | undefined> {
  // Past the image's own entrypoint: only its node matters here.
  const args = ['run', '--rm', '--entrypoint', 'node', image, '-e', PROBE, registry(config.env)];
  const env = { ...config.env, DOCKER_HOST: dockerEndpoint(config.env).host };
  const result = await run('docker', args, { env }).catch((e: { exitCode?: number }) => e);
  return result.exitCode === 0 ? true : result.exitCode === 3 ? false : undefined;
}

/** The packages image: each install's package folder and kind, staged from the host and built FROM scratch. */
async function packagesImage(
  config: ToolkitConfig,
  service: string,
  installs: NpmInstall[],
  log: Log,
): Promise<string> {
  const wanted = new Map<string, { folder: string; lock: string; kind: 'all' | 'production' }>();
  for (const { instruction, parts, folder, lock } of installs)
    for (const { install } of parts) {
      if (!install) continue;
      if (!lock)
        throw new UserError(
          `service "${service}": its Dockerfile runs \`${instruction.command}\`, which cannot reach the npm registry from builds here, and realstack found no package-lock.json for ${folder} to install it from this machine instead. Run \`npm install\` there once (it writes the lock and installs), then run again.`,
        );
      wanted.set(packagesPath(instruction.packageDir ?? '.', install), { folder, lock, kind: install });
    }
  const tag = builtImageTag(config.projectDir, `${service}-packages`);
  const inputs = hashInputs({
    base: config.projectDir,
    files: [...new Set([...wanted.values()].map((w) => w.lock))],
    values: [...wanted.keys()],
  });
  if ((await labelOf(dockerEndpoint(config.env).docker, tag)) === inputs) {
    log(`  ${tag}: up to date`);
    return tag;
  }
  const dir = path.join(config.stateDir, 'images', `${service}-packages`);
  rmSync(dir, { recursive: true, force: true });
  try {
    await step(
      log,
      `stage this machine's packages for ${service} (${[...wanted.keys()].join(', ')})`,
      async () => {
        for (const [at, { folder, lock, kind }] of wanted) {
          const lockDir = path.dirname(lock);
          const workspace = path.relative(lockDir, folder).split(path.sep).join('/');
          stageInstall(lockDir, workspace, path.join(dir, path.dirname(at)), { dev: kind === 'all' });
        }
      },
    );
    mkdirSync(path.join(dir, 'packages'), { recursive: true });
    writeFileSync(path.join(dir, 'Dockerfile'), 'FROM scratch\nCOPY packages /packages\n');
    await step(log, `build ${tag}`, () =>
      dockerBuild(dir, tag, inputs, {}, { [PROJECT_DIR_LABEL]: config.projectDir }),
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return tag;
}

/**
 * For a service about to be built: the replacements its Dockerfile's copy needs for npm
 * installs to come from this machine, or none when builds reach the registry (realstack.json
 * images.hostInstalls: "auto" asks a container of the stage's base; "always" does not ask).
 * An install realstack cannot serve (yarn, pnpm, a RUN it cannot rewrite) that cannot reach the
 * registry either fails here, at once, rather than after npm's minutes of timeouts.
 */
export async function hostInstalls(
  config: ToolkitConfig,
  service: string,
  build: { file: Dockerfile; installs: NpmInstall[]; stageBases: string[] },
  log: Log,
): Promise<Replacement[]> {
  const mode = config.project.images.hostInstalls ?? 'auto';
  if (mode === 'never') return [];
  const { installs } = build;
  const served = new Set(installs.map((i) => i.instruction));
  const unserved = build.file.runs.filter((r) => !served.has(r) && INSTALLS_PACKAGES.test(r.command));
  if (installs.length === 0 && unserved.length === 0) return [];
  if (mode === 'auto' || unserved.length > 0) {
    const first = (installs[0]?.instruction ?? unserved[0]) as RunStep;
    const reaches = await reachesRegistry(build.stageBases[first.stage] as string, config);
    if (reaches !== false) return [];
    if (unserved.length > 0)
      throw new UserError(
        [
          `service "${service}": its Dockerfile's \`RUN ${(unserved[0] as RunStep).command}\` needs the package registry, and builds here cannot reach ${registry(config.env)} (asked from a container of ${build.stageBases[first.stage]}): it would wait out its timeouts, for minutes, and fail.`,
          "realstack installs plain `npm ci` and `npm install` from this machine's packages, not this. Install on this machine and copy instead:",
          `set "hostModules": "." for ${service} in realstack.json and put COPY build/${service}/node_modules ./node_modules in place of the install (docs/adopting.md, "Images without a registry"),`,
          'or set images.hostInstalls to "never" in realstack.json to build as written anyway.',
        ].join('\n'),
      );
    log(
      `  ${service}: builds here cannot reach ${registry(config.env)}, so its Dockerfile's npm installs come from this machine's (realstack.json images.hostInstalls)`,
    );
  }
  const image = await packagesImage(config, service, installs, log);
  return installs.map((i) => replacement(i, image));
}
