import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import type { Dockerfile } from '../stack/dockerfile.js';
import { commandList, programOf, readPackage } from '../stack/infer.js';
import type { ServiceSpec } from '../stack/spec.js';

/** What `init` proposes for realstack.json's images.hostBuild, and why. */
export interface HostBuildGuess {
  command: string[];
  inputs: string[];
  /** Each build step as written, and the services whose Dockerfile runs it. */
  from: { step: string; services: string[] }[];
}

/** Scripts a Dockerfile runs that are not its build: they install, test or start. */
const NOT_BUILDS = new Set(['install', 'ci', 'i', 'test', 'start', 'prune', 'cache', 'config', 'audit']);
/**
 * What a package's build does not read, by convention: container and compose files, realstack's
 * and tap's settings, tests, docs. Left out of its inputs, a change to them builds nothing.
 */
const NOT_INPUTS =
  /^(?:.*Dockerfile.*|\.dockerignore|(?:docker-)?compose(?:\.[\w-]+)*\.ya?ml|realstack\.json|justfile|\.taprc|.*\.md|LICENSE.*|\.gitignore|\.github|docs?|tests?|__tests__)$/i;
/** Folders a build writes its output to, by convention. */
const OUTPUT_NAMES = new Set(['dist', 'build', 'out', 'lib', '.output', '.next']);

/**
 * Compilers and bundlers a Dockerfile runs itself (`RUN npx tsc`, `node_modules/.bin/tsc -p
 * tsconfig.build.json`), and the subcommand that builds for those that have others.
 */
const BUILD_TOOLS: Record<string, string | undefined> = {
  tsc: undefined,
  tsup: undefined,
  esbuild: undefined,
  swc: undefined,
  rollup: undefined,
  webpack: undefined,
  babel: undefined,
  ncc: 'build',
  nest: 'build',
  vite: 'build',
  next: 'build',
};

/** How many of pnpm's leading words select the packages a command runs in (`--filter x`, `-r`). */
function pnpmSelection(words: string[]): number {
  let i = 0;
  for (;;) {
    const w = words[i];
    if (w === '--filter' || w === '-F') i += 2;
    else if (w?.startsWith('--filter=') || w === '-r' || w === '--recursive') i += 1;
    else return i;
  }
}

/** A word as a POSIX shell reads it back: quoted unless it is plain. */
const shellWord = (w: string) => (/^[\w@%+=:,./-]+$/.test(w) ? w : `'${w.replace(/'/g, "'\\''")}'`);

/**
 * The build a RUN line runs, as a command run from the project's folder: a package script
 * (`npm run build`, `yarn build`, `pnpm run build`; the package's own folder named when it is
 * not that one), or a compiler or bundler of the package's (`npx tsc`), run through npx in the
 * package's folder. Installs, tests and starts are not builds.
 */
function buildStep(
  run: string,
  pkgDir: string,
  projectDir: string,
): { command: string[]; shell: string; step: string } | undefined {
  const dir = path.relative(projectDir, pkgDir);
  for (const segment of run.split(/&&|\|\||;/)) {
    const { cmd, args: rest, npx } = programOf(commandList(segment.trim()) ?? []);
    const tool = cmd && path.posix.basename(cmd);
    const step = segment.trim();
    if (tool && Object.hasOwn(BUILD_TOOLS, tool) && (npx || cmd?.includes('node_modules/.bin/'))) {
      const sub = BUILD_TOOLS[tool];
      if (sub !== undefined && rest[0] !== sub) continue;
      // --no-install: the package's own tool or nothing, never one npx would download by that name.
      const words = ['npx', '--no-install', tool, ...rest];
      const shell = dir
        ? `cd ${shellWord(dir)} && ${words.map(shellWord).join(' ')}`
        : words.map(shellWord).join(' ');
      return { command: dir ? ['sh', '-c', shell] : words, shell, step };
    }
    if (npx || (tool !== 'npm' && tool !== 'yarn' && tool !== 'pnpm')) continue;
    // pnpm's selection before its command (`pnpm --filter @shop/api... build`, `pnpm -r build`):
    // the script is the selected packages', which the project's own package.json need not have.
    const skip = tool === 'pnpm' ? pnpmSelection(rest) : 0;
    const selected = skip > 0;
    const words = rest.slice(skip);
    const named = words[0] === 'run' || words[0] === 'run-script' ? 1 : tool === 'npm' ? -1 : 0;
    const name = named < 0 ? undefined : words[named];
    if (!name || name.startsWith('-') || NOT_BUILDS.has(name)) continue;
    if (!selected && readPackage(pkgDir)?.scripts?.[name] === undefined) continue;
    const where = dir ? { npm: ['--prefix', dir], yarn: ['--cwd', dir], pnpm: ['--dir', dir] }[tool] : [];
    const command = [tool, ...where, ...rest];
    return { command, shell: command.map(shellWord).join(' '), step };
  }
  return undefined;
}

/**
 * The folder a service's entry is built into: the first conventional output folder on its path
 * (`dist/main.js`, `apps/api/build/server.js`), else the top folder of the entry below its
 * package. A host build's inputs leave it out, or every build would change them.
 */
function outputFolder(entry: string, pkgDir: string): string | undefined {
  const rel = path.relative(pkgDir, entry);
  if (!rel || rel.startsWith('..')) return undefined;
  const parts = rel.split(path.sep);
  const at = parts.slice(0, -1).findIndex((p) => OUTPUT_NAMES.has(p));
  if (at >= 0) return path.join(pkgDir, ...parts.slice(0, at + 1));
  return parts.length > 1 ? path.join(pkgDir, parts[0] as string) : undefined;
}

/**
 * What a build reads when its Dockerfile sends it the whole context (`COPY . .`): the package
 * folder's files and folders, but node_modules, version control, what no build reads (above),
 * realstack's outputs and the build's own output (listed around it, when it is deeper than the
 * top), as paths relative to the project.
 */
function buildInputs(pkgDir: string, projectDir: string, skip: string[]): string[] {
  const list = (dir: string): string[] =>
    readdirSync(dir)
      .sort()
      .flatMap((name) => {
        const abs = path.join(dir, name);
        if (name === 'node_modules' || name === '.git' || NOT_INPUTS.test(name) || skip.includes(abs))
          return [];
        if (skip.some((s) => s.startsWith(`${abs}${path.sep}`))) return list(abs);
        return [path.relative(projectDir, abs)];
      });
  return list(pkgDir);
}

/** A COPY source's files: itself, or for a pattern (`package*.json`) the names in its folder it matches. */
function expand(context: string, source: string): string[] {
  const rel = source.replace(/^\.\//, '');
  if (!/[*?[]/.test(rel)) return [path.join(context, rel)];
  const dir = path.join(context, path.dirname(rel));
  const name = new RegExp(
    `^${path
      .basename(rel)
      .replace(/[.+^${}()|\\]/g, '\\$&')
      .replace(/\*/g, '[^/]*')
      .replace(/\?/g, '[^/]')}$`,
  );
  return existsSync(dir)
    ? readdirSync(dir)
        .filter((f) => name.test(f))
        .map((f) => path.join(dir, f))
    : [];
}

/**
 * The build the process engine needs before it runs a service's entry from this machine: the
 * package script a Dockerfile runs to make it (the image builds its own `dist/`, the host's may
 * be missing or old). One command for the project; services that build with different ones
 * get them all, one after the other.
 */
export function inferHostBuild(
  services: { spec: ServiceSpec; dockerfile: Dockerfile | undefined }[],
  projectDir: string,
  outputs: string[],
): HostBuildGuess | undefined {
  const steps: {
    service: string;
    step: string;
    command: string[];
    shell: string;
    pkgDir: string;
    /** What the Dockerfile copied in before the build, when it names it (not `COPY . .`). */
    copied?: string[];
    output?: string;
  }[] = [];
  for (const { spec, dockerfile } of services) {
    if (spec.role !== 'node' || !spec.build || !dockerfile) continue;
    for (const run of dockerfile.runs.filter((r) => dockerfile.needed.includes(r.stage))) {
      const pkgDir = path.resolve(spec.build.context, run.packageDir ?? '.');
      const found = buildStep(run.command, pkgDir, projectDir);
      if (!found) continue;
      const entry = spec.entry?.[0] && spec.sourceRoot && path.join(spec.sourceRoot.host, spec.entry[0]);
      const output = entry ? outputFolder(entry, pkgDir) : undefined;
      const whole = run.copied.length === 0 || run.copied.some((c) => c.replace(/^\.\/?/, '') === '');
      const copied = whole ? undefined : run.copied.flatMap((c) => expand(spec.build?.context as string, c));
      steps.push({
        service: spec.name,
        ...found,
        pkgDir,
        ...(copied ? { copied } : {}),
        ...(output ? { output } : {}),
      });
      break;
    }
  }
  if (steps.length === 0) return undefined;
  const commands = [...new Set(steps.map((s) => s.shell))];
  const skip = [...outputs, ...steps.flatMap((s) => (s.output ? [s.output] : []))];
  const inputs = [
    ...new Set(
      steps.flatMap((s) =>
        s.copied
          ? s.copied.map((f) => path.relative(projectDir, f))
          : buildInputs(s.pkgDir, projectDir, skip),
      ),
    ),
  ]
    .filter((f) => existsSync(path.join(projectDir, f)))
    .sort();
  return {
    command:
      commands.length === 1 ? (steps[0] as (typeof steps)[0]).command : ['sh', '-c', commands.join(' && ')],
    inputs,
    from: [...new Set(steps.map((s) => s.step))].map((step) => ({
      step,
      services: steps.filter((s) => s.step === step).map((s) => s.service),
    })),
  };
}
