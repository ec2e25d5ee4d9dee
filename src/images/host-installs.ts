import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { ToolkitConfig } from '../config/toolkit.js';
import { dockerEndpoint } from '../engine/docker.js';
import { about, UserError } from '../errors.js';
import type { Log } from '../log.js';
import type { Dockerfile, Replacement, RunStep } from '../stack/dockerfile.js';
import { INSTALLS_PACKAGES } from './build-failure.js';
import { hashInputs } from './hash.js';
import {
  folderLayout,
  type Layout,
  type Lockfile,
  layoutFolders,
  lockLayout,
  readLock,
  stageLayout,
  workspacesOf,
} from './production-modules.js';
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

/** What an npm install in the package folder installs. */
export interface Install {
  /** With dev packages, or the run-time ones only. */
  packages: 'all' | 'production';
  /** `-w` / `--workspace` as written (folders or package names), or `--workspaces`: every one. */
  workspaces?: string[] | 'every';
  /** `--include-workspace-root`: the root's packages beside the workspaces'. */
  root?: boolean;
}

/** One RUN's commands, split at `&&` and `;`; an npm install of the stage's package folder says which packages. */
interface Part {
  command: string;
  install?: Install;
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
  '-w',
  '--workspace',
]);
/** Flags that install elsewhere than the stage's package folder. */
const ELSEWHERE = /^(-g|--global|--prefix|--location)\b/;
const isTrue = (value: string | undefined) => value !== 'false';

/** What an npm command installs in the package folder, or undefined when it does something else. */
export function npmInstall(command: string, nodeEnv?: string): Install | undefined {
  const [npm, sub, ...words] = command.trim().split(/\s+/);
  if (npm !== 'npm' || !INSTALL.has(sub ?? '')) return undefined;
  // npm leaves dev packages out under NODE_ENV=production unless told otherwise.
  let production = nodeEnv === 'production';
  const named: string[] = [];
  let every = false;
  let root = false;
  for (let i = 0; i < words.length; i++) {
    const word = words[i] as string;
    // A package named (`npm install pm2`) is not the folder's install.
    if (!word.startsWith('-') || ELSEWHERE.test(word)) return undefined;
    const [flag, inline] = word.split('=') as [string, string?];
    const value = inline ?? (VALUED.has(flag) ? words[++i] : undefined);
    if (flag === '--production') production = isTrue(value);
    else if (flag === '--omit' && value === 'dev') production = true;
    else if (flag === '--include' && value === 'dev') production = false;
    else if (flag === '--only') production = /^prod/.test(value ?? '');
    else if ((flag === '-w' || flag === '--workspace') && value) named.push(value);
    else if (flag === '--workspaces' || flag === '--ws') every = isTrue(value);
    else if (flag === '--include-workspace-root' || flag === '--iwr') root = isTrue(value);
  }
  return {
    packages: production ? 'production' : 'all',
    ...(every ? { workspaces: 'every' as const } : named.length > 0 ? { workspaces: named } : {}),
    ...(root ? { root } : {}),
  };
}

/**
 * The RUN lines of a Dockerfile that install its package folder's dependencies with npm. One
 * whose shell does more than run commands one after another (pipes, `||`, quoting, a `cd`
 * before the install) is left as written: a copy could not keep its meaning.
 */
export function npmInstalls(file: Dockerfile, projectDir: string, context: string): NpmInstall[] {
  return file.runs.flatMap((instruction) => {
    const parts: Part[] = instruction.command.split(/\s*(?:&&|;)\s*/).map((command) => {
      const install = npmInstall(command, instruction.nodeEnv);
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

/**
 * Where one install's packages go, staged at /packages/<key>/ in the packages image as the
 * install lays them out in its folder (node_modules, and a workspace's own node_modules).
 */
interface Plan {
  key: string;
  layout: Layout;
  folders: string[];
}

/** The workspace folders an install at the lock's folder names, as npm matches them: by folder or by package name. */
function namedWorkspaces(lock: Lockfile, lockFile: string, install: Install, command: string): string[] {
  const workspaces = workspacesOf(lock);
  if (install.workspaces === 'every' || (!install.workspaces && lock.packages['']?.workspaces))
    return [...workspaces.keys()];
  return (install.workspaces ?? []).map((written) => {
    const folder = path.posix.normalize(written).replace(/^\.\/|\/$/g, '');
    const found = [...workspaces].find(([key, name]) => key === folder || name === written)?.[0];
    if (found === undefined)
      throw new UserError(
        `\`${command}\` names the workspace "${written}", which ${lockFile} does not list (its workspaces: ${[...workspaces.keys()].join(', ') || 'none'}): name one of them, or run \`npm install\` after adding it.`,
      );
    return found;
  });
}

/**
 * What an install in `folder` puts where, from this machine's install of `lock` (the
 * package-lock.json that covers the folder): at the lock's own folder as npm lays it out there,
 * with the workspaces it names; in a workspace's folder as npm lays it out in that folder alone.
 */
export function installLayout(lock: string, folder: string, install: Install, command: string): Layout {
  const lockDir = path.dirname(lock);
  const workspace = path.relative(lockDir, folder).split(path.sep).join('/');
  const dev = install.packages === 'all';
  if (workspace !== '') {
    if (install.workspaces)
      throw new UserError(
        `\`${command}\` runs in ${folder}, a workspace of ${lock}: realstack serves a workspace's install from the lock's own folder, where npm runs it. Copy the root package.json and package-lock.json to the WORKDIR and install there.`,
      );
    return folderLayout(lockDir, workspace, { dev });
  }
  const read = readLock(lockDir);
  const named = namedWorkspaces(read.lock, read.lockFile, install, command);
  return lockLayout(lockDir, install.workspaces && !install.root ? named : ['', ...named], { dev }, read);
}

/** One install's plan: its layout, under a key its folder, packages and workspaces decide. */
function planOf(service: string, install: NpmInstall, part: Install, command: string): Plan {
  const { instruction, folder, lock } = install;
  if (!lock)
    throw new UserError(
      `service "${service}": its Dockerfile runs \`${instruction.command}\`, which cannot reach the npm registry from builds here, and realstack found no package-lock.json for ${folder} to install it from this machine instead. Run \`npm install\` there once (it writes the lock and installs), then run again.`,
    );
  const layout = about(`service "${service}"`, () => installLayout(lock, folder, part, command));
  const key = hashInputs({
    values: [path.relative(path.dirname(lock), folder), ...layout.packages.keys(), ...layout.links.keys()],
  }).slice(0, 12);
  return { key, layout, folders: layoutFolders(layout) };
}

/** The RUN as the build's copy of the Dockerfile has it: the rest of its commands kept, in order. */
function replacement(install: NpmInstall, plans: Map<Part, Plan>, image: string): Replacement {
  const text = [
    `# realstack: \`RUN ${install.instruction.command}\`: the registry is out of reach of builds here, so its packages come from this machine's install`,
  ];
  let pending: string[] = [];
  const flush = () => {
    if (pending.length > 0) text.push(`RUN ${pending.join(' && ')}`);
    pending = [];
  };
  const chown = install.instruction.user ? ` --chown=${install.instruction.user}` : '';
  for (const part of install.parts) {
    const plan = plans.get(part);
    if (!plan) {
      pending.push(part.command);
      continue;
    }
    flush();
    for (const folder of plan.folders)
      text.push(`COPY --from=${image}${chown} /packages/${plan.key}/${folder} ./${folder}`);
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

/** The packages image: each install's packages, staged from this machine and built FROM scratch. */
async function packagesImage(
  config: ToolkitConfig,
  service: string,
  plans: Plan[],
  log: Log,
): Promise<string> {
  const unique = new Map(plans.map((p) => [p.key, p]));
  const tag = builtImageTag(config.projectDir, `${service}-packages`);
  const inputs = hashInputs({
    base: config.projectDir,
    files: [...new Set(plans.map((p) => p.layout.lockFile))],
    values: [...unique.keys()],
  });
  if ((await labelOf(dockerEndpoint(config.env), tag)) === inputs) {
    log(`  ${tag}: up to date`);
    return tag;
  }
  const dir = path.join(config.stateDir, 'images', `${service}-packages`);
  rmSync(dir, { recursive: true, force: true });
  try {
    await step(log, `stage this machine's packages for ${service}`, async () => {
      for (const plan of unique.values()) stageLayout(plan.layout, path.join(dir, 'packages', plan.key));
    });
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
    if (unserved.length > 0) {
      const command = (unserved[0] as RunStep).command;
      // yarn's and pnpm's installs have no package-lock.json for hostModules to stage from.
      const manager = /\b(yarn|pnpm)\b/.exec(command)?.[1];
      throw new UserError(
        [
          `service "${service}": its Dockerfile's \`RUN ${command}\` needs the package registry, and builds here cannot reach ${registry(config.env)} (asked from a container of ${build.stageBases[first.stage]}): it would wait out its timeouts, for minutes, and fail.`,
          "realstack installs plain `npm ci` and `npm install` from this machine's packages, not this. Install on this machine and copy instead:",
          manager
            ? `${manager} itself comes from the registry (corepack fetches it), so every RUN that calls it needs the registry: run \`${manager} install\` and the build here, and let the image COPY what they made in place of those RUN lines: node_modules (kept out of .dockerignore${manager === 'pnpm' ? "; pnpm's links into node_modules/.pnpm are copied as links" : ''}) and the build's output (docs/adopting.md, "Images without a registry"),`
            : `set "hostModules": "." for ${service} in realstack.json and put COPY build/${service}/node_modules ./node_modules in place of the install (docs/adopting.md, "Images without a registry"),`,
          'or set images.hostInstalls to "never" in realstack.json to build as written anyway.',
        ].join('\n'),
      );
    }
    log(
      `  ${service}: builds here cannot reach ${registry(config.env)}, so its Dockerfile's npm installs come from this machine's (realstack.json images.hostInstalls)`,
    );
  }
  const plans = new Map<Part, Plan>();
  for (const install of installs)
    for (const part of install.parts)
      if (part.install) plans.set(part, planOf(service, install, part.install, part.command));
  const image = await packagesImage(config, service, [...plans.values()], log);
  return installs.map((i) => replacement(i, plans, image));
}
