import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { UserError } from '../errors.js';
import { InterpolationError, interpolate } from './interpolate.js';

/** One instruction: its keyword, its arguments (continuation lines joined), and the lines it spans. */
interface Instruction {
  word: string;
  rest: string;
  /** First and last line (0-based) of the instruction, heredoc bodies included. */
  lines: [number, number];
}

export interface Dockerfile {
  /** The base image of each stage, build args applied. */
  from: string[];
  /**
   * Each stage's base as written (`${NODE_IMAGE}`), its flags (`--platform=...`), the name it is
   * given (`AS build`), the earlier stage it builds on (`FROM build`), and the lines of its FROM.
   */
  stages: {
    written: string;
    flags: string[];
    as?: string;
    parent?: number;
    lines: [number, number];
    /** The earlier stages its `COPY --from=` take files from. */
    copiesFrom?: number[];
  }[];
  /**
   * The stages the built one needs (itself, what it is built FROM, what it copies from, and so
   * on): a target's image holds what their RUN lines made, and nothing of the other stages'.
   */
  needed: number[];
  /** The defaults of its ARG lines. */
  argDefaults: Record<string, string>;
  /** The image the built stage (compose's build.target, else the last) starts from, and its WORKDIR, CMD and ENTRYPOINT. */
  base?: string;
  workdir?: string;
  cmd?: string[];
  entrypoint?: string[];
  /**
   * The built stage's ENV (and what the stages it is built FROM set), build args applied. A value
   * that names a variable the file does not set (`PATH=/app/bin:$PATH`: the base image's) is
   * undefined: it cannot be known without the image.
   */
  env: Record<string, string | undefined>;
  /** What the built stage (and those it is built FROM) copies from the build context, and where. */
  copies: Copy[];
  /** The ports its EXPOSE lines name, in order. */
  expose: number[];
  /** Its shell-form RUN lines, for the package installs among them (images/host-installs.ts). */
  runs: RunStep[];
}

/** A COPY or ADD from the build context: its sources as written, and where they go in the image. */
export interface Copy {
  sources: string[];
  /** Absolute, against the WORKDIR. */
  dest: string;
  /** The sources go into `dest` (`COPY a b ./`, `COPY x /bin/`, `COPY x .`), not to it as a file. */
  intoDir: boolean;
}

/** A shell-form RUN, with what its stage said before it that a package install depends on. */
export interface RunStep {
  stage: number;
  command: string;
  lines: [number, number];
  /** The stage's USER at this point, NODE_ENV (ENV or ARG), and the context folder package.json came from. */
  user?: string;
  nodeEnv?: string;
  packageDir?: string;
  /** What the stage (and those it is built FROM) copied from the build context before it, as written. */
  copied: string[];
}

type StageState = Pick<RunStep, 'user'> &
  Pick<Dockerfile, 'workdir' | 'cmd' | 'entrypoint'> & {
    /** Its ARGs (in scope for ENV and RUN) and ENV, undefined where not knowable. */
    args?: Record<string, string>;
    env?: Record<string, string | undefined>;
    /** Each image folder a COPY put a package.json in, and the context folder it came from. */
    packages?: Record<string, string>;
    copied?: string[];
    copies?: Copy[];
    expose?: number[];
  };

/**
 * The paths of a COPY or ADD, shell form or JSON form, without its flags (sources, then the
 * destination), and whether it takes them from a stage or an image (`--from`) rather than the
 * build context.
 */
function copyPaths(rest: string): { paths: string[]; fromElsewhere: boolean } {
  let words: string[];
  try {
    const parsed = JSON.parse(rest) as unknown;
    words = Array.isArray(parsed) ? parsed.map(String) : [];
  } catch {
    words = rest.split(/\s+/);
  }
  return {
    paths: words.filter((w) => !w.startsWith('--')),
    fromElsewhere: words.some((w) => w.startsWith('--from')),
  };
}

/** A copy of the whole build context (`COPY . .`, `COPY ./ /app/`). */
export const copiesContext = (c: Copy): boolean =>
  c.sources.length === 1 && /^\.\/?$/.test(c.sources[0] as string);

/**
 * What `COPY --from=<stage> <src>... <dest>` brings of the build context: the stage's own copies
 * from the context, at the paths they land on here. A build stage that copies the context to
 * /repo, then `COPY --from=build /repo .` with WORKDIR /repo, has the context at /repo in the
 * image as much as a `COPY . .` there would; `COPY --from=build /repo/apps/api/src ./src` has
 * the context's apps/api/src at ./src.
 */
function carriedCopies(
  from: StageState | undefined,
  paths: string[],
  workdir: string | undefined,
  sub: (s: string) => string,
): Copy[] {
  const [dest, ...sources] = [...paths].reverse();
  const copies = from?.copies;
  if (!copies || !dest || sources.length === 0) return [];
  const to = path.posix.resolve(workdir ?? '/', sub(dest));
  const inside = (p: string, dir: string) => p === dir || p.startsWith(`${dir === '/' ? '' : dir}/`);
  return sources.reverse().flatMap((written) => {
    const src = path.posix.resolve(from.workdir ?? '/', sub(written));
    return copies.flatMap((c): Copy[] => {
      // The context (`COPY . .`), or one folder or file copied to c.dest as a whole: a part of
      // it, or all of it, comes along. (Other sources copied into a folder are not told apart.)
      const whole = copiesContext(c) || (c.sources.length === 1 && !c.intoDir);
      if (whole && inside(src, c.dest))
        return [
          {
            sources: [path.posix.join(c.sources[0] as string, path.posix.relative(c.dest, src)) || '.'],
            dest: to,
            intoDir: true,
          },
        ];
      // The copy landed inside what this one takes: it comes along, where it lands here.
      if (inside(c.dest, src) && c.dest !== src)
        return [{ ...c, dest: path.posix.join(to, path.posix.relative(src, c.dest)) }];
      return [];
    });
  });
}

/**
 * Where a COPY puts a package.json (the image folder, resolved against the WORKDIR) and the
 * folder of the build context it takes it from (`.` for `COPY . .`), if it does.
 */
function packageCopy(paths: string[], workdir = '/'): { dest: string; dir: string } | undefined {
  if (paths.length < 2) return undefined;
  const dest = path.posix.resolve(workdir, paths.at(-1) ?? '');
  for (const src of paths.slice(0, -1)) {
    const clean = src.replace(/^\.\/?/, '') || '.';
    if (clean === '.') return { dest, dir: '.' };
    if (/^(package(-lock)?|npm-shrinkwrap)\.json$|^package\*(\.json)?$/.test(path.posix.basename(clean)))
      return { dest, dir: path.posix.dirname(clean) };
  }
  return undefined;
}

/**
 * The instructions of a Dockerfile as the builder sees them: comment lines dropped, a line
 * ending in `\` continued on the next, and a heredoc's body (`RUN <<EOF ... EOF`) kept out of
 * the instructions, so a line in it that starts with FROM is not a stage.
 */
function instructions(text: string): Instruction[] {
  const lines = text.split(/\r?\n/);
  const skipped = (line: string) => /^\s*(#|$)/.test(line);
  const out: Instruction[] = [];
  for (let i = 0; i < lines.length; i++) {
    if (skipped(lines[i] as string)) continue;
    const first = i;
    let joined = '';
    // Comment and empty lines inside a continued instruction are skipped, as the builder skips them.
    for (; i < lines.length; i++) {
      const line = lines[i] as string;
      if (i > first && skipped(line)) continue;
      if (!/\\\s*$/.test(line)) {
        joined += line;
        break;
      }
      joined += `${line.replace(/\\\s*$/, '')} `;
    }
    const m = /^\s*(\w+)\s+(.*)$/.exec(joined);
    if (!m) continue;
    const word = (m[1] as string).toUpperCase();
    // BuildKit's heredocs (RUN, COPY, ADD): `<<EOF` or `<<-EOF`, not a shell's `<<<` here-string.
    if (word === 'RUN' || word === 'COPY' || word === 'ADD')
      for (const h of joined.matchAll(/(?<!<)<<(-?)(["']?)([A-Za-z_]\w*)\2(?!<)/g)) {
        const [, dash, , end] = h as unknown as [string, string, string, string];
        while (i + 1 < lines.length && (dash ? (lines[i + 1] as string).trim() : lines[i + 1]) !== end) i++;
        i++;
      }
    out.push({ word, rest: (m[2] as string).trim(), lines: [first, Math.min(i, lines.length - 1)] });
  }
  return out;
}

/** Exec form (a JSON array) as is, else the shell form as the builder runs it. */
function commandForm(v: string): string[] {
  try {
    const parsed = JSON.parse(v) as unknown;
    if (Array.isArray(parsed)) return parsed.map(String);
  } catch {}
  return ['/bin/sh', '-c', v];
}

/**
 * The assignments of an ENV line (`K=V K2="two words"`, or the legacy `K two words`), each value
 * as a template for `interpolate`: quotes and backslashes taken as the builder takes them, and a
 * `$` that is not a variable (single-quoted, or `\$`) doubled, as compose writes a literal one.
 */
function envAssignments(rest: string): [string, string][] {
  const legacy = /^([^\s=]+)\s+(.*)$/.exec(rest);
  const out: [string, string][] = [];
  let word = '';
  let quote = '';
  const end = () => {
    const at = word.indexOf('=');
    if (at > 0) out.push([word.slice(0, at), word.slice(at + 1)]);
    word = '';
  };
  const text = legacy ? (legacy[2] as string) : rest;
  for (let i = 0; i < text.length; i++) {
    const c = text[i] as string;
    if (quote === "'") {
      if (c === "'") quote = '';
      else word += c === '$' ? '$$' : c;
    } else if (c === '\\' && i + 1 < text.length) {
      const next = text[++i] as string;
      // In double quotes a backslash escapes only `"`, `\` and `$`; elsewhere any character.
      if (quote === '"' && !'"\\$'.includes(next)) word += c;
      word += next === '$' ? '$$' : next;
    } else if (c === quote) quote = '';
    else if (!quote && (c === '"' || c === "'")) quote = c;
    else if (!quote && !legacy && /\s/.test(c)) end();
    else word += c;
  }
  if (legacy) out.push([legacy[1] as string, word]);
  else end();
  return out;
}

/**
 * A template's value from `known`, or undefined when it reads a variable `known` cannot say (the
 * base image's, most likely); one with a default (`${REGION:-eu}`) takes its default.
 */
function expandKnown(template: string, known: Record<string, string | undefined>): string | undefined {
  const missed = new Set<string>();
  const vars = new Proxy(known, {
    get(target, name: string) {
      if (target[name] === undefined) missed.add(name);
      return target[name];
    },
  });
  try {
    const value = interpolate(template, vars);
    const used = (name: string) => new RegExp(`\\$(${name}(?!\\w)|\\{${name}(\\}|:?\\+))`).test(template);
    return [...missed].some(used) ? undefined : value;
  } catch (e) {
    if (e instanceof InterpolationError) return undefined;
    throw e;
  }
}

/**
 * The few instructions of a Dockerfile realstack reads: base images, ARG defaults, and the
 * WORKDIR, CMD, ENTRYPOINT and ENV of the stage built (`target`, as compose's build.target names it;
 * else the last), a stage built FROM an earlier one inheriting them.
 */
export function readDockerfile(
  file: string,
  args: Record<string, string> = {},
  target?: string,
): Dockerfile | undefined {
  if (!existsSync(file)) return undefined;
  const defaults: Record<string, string> = {};
  const global: Record<string, string> = {};
  const out: Dockerfile = {
    from: [],
    stages: [],
    argDefaults: defaults,
    env: {},
    copies: [],
    expose: [],
    runs: [],
    needed: [],
  };
  const sub = (s: string) =>
    s.replace(/\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?/g, (_, v: string) => args[v] ?? defaults[v] ?? '');
  // What each stage has said so far; a stage built FROM an earlier one starts from what it said.
  const said: StageState[] = [];
  let now: StageState = {};
  for (const { word, rest, lines } of instructions(readFileSync(file, 'utf8'))) {
    if (word === 'ARG') {
      const [k, v] = rest.split('=') as [string, string?];
      const value = v?.replace(/^"(.*)"$/, '$1');
      if (value !== undefined) defaults[k] = value;
      // An ARG before the first FROM is the FROM lines'; a stage sees it only if it says it again.
      if (out.stages.length === 0) {
        if (value !== undefined) global[k] = value;
      } else now.args = { ...now.args, [k]: args[k] ?? value ?? global[k] ?? '' };
    } else if (word === 'ENV') {
      // Every assignment of one ENV line sees the values from before it, as the builder's do.
      const known = { ...now.args, ...now.env };
      now.env = {
        ...now.env,
        ...Object.fromEntries(envAssignments(rest).map(([k, t]) => [k, expandKnown(t, known)])),
      };
    } else if (word === 'USER') now.user = sub(rest);
    else if (word === 'COPY' || word === 'ADD') {
      const from = /(?:^|\s)--from=(\S+)/.exec(rest)?.[1];
      // A stage by name or by number (`--from=0`); another image (`--from=nginx:1`) is no stage.
      const source = !from
        ? -1
        : /^\d+$/.test(from)
          ? Number(from)
          : out.stages.findIndex((st) => st.as?.toLowerCase() === from.toLowerCase());
      const stage = out.stages.at(-1);
      const written = copyPaths(rest);
      if (source >= 0 && stage) {
        stage.copiesFrom = [...(stage.copiesFrom ?? []), source];
        const carried = carriedCopies(said[source], written.paths, now.workdir, sub);
        if (carried.length > 0) now.copies = [...(now.copies ?? []), ...carried];
      }
      const paths = written.fromElsewhere ? [] : written.paths;
      const copy = packageCopy(paths, now.workdir);
      if (copy) now.packages = { ...now.packages, [copy.dest]: copy.dir };
      now.copied = [...(now.copied ?? []), ...paths.slice(0, -1)];
      const [dest, ...sources] = [...paths].reverse();
      if (dest && sources.length > 0) {
        const to = path.posix.resolve(now.workdir ?? '/', sub(dest));
        const intoDir = sources.length > 1 || /\/$|^\.$/.test(dest) || to === now.workdir;
        now.copies = [...(now.copies ?? []), { sources: sources.reverse(), dest: to, intoDir }];
      }
    } else if (word === 'RUN' && out.stages.length > 0 && !rest.startsWith('[')) {
      // The package the RUN's folder holds: a workspace's package.json copied to its own
      // folder (`COPY apps/api/package.json apps/api/`) is not the WORKDIR's.
      const packageDir = now.packages?.[now.workdir ?? '/'];
      // ENV wins over an ARG of the same name, in a RUN as in the image.
      const nodeEnv = now.env && 'NODE_ENV' in now.env ? now.env.NODE_ENV : now.args?.NODE_ENV;
      out.runs.push({
        stage: out.stages.length - 1,
        command: rest,
        lines,
        copied: now.copied ?? [],
        ...(now.user !== undefined ? { user: now.user } : {}),
        ...(nodeEnv !== undefined ? { nodeEnv } : {}),
        ...(packageDir !== undefined ? { packageDir } : {}),
      });
    } else if (word === 'FROM') {
      const words = rest.split(/\s+/);
      const flags = words.filter((w) => w.startsWith('--'));
      const [image, as, name] = words.filter((w) => !w.startsWith('--')) as [string, string?, string?];
      const parent = out.stages.findIndex((st) => st.as === image);
      out.stages.push({
        written: image,
        flags,
        ...(as?.toUpperCase() === 'AS' && name ? { as: name } : {}),
        ...(parent >= 0 ? { parent } : {}),
        lines,
      });
      out.from.push(sub(image));
      now = parent >= 0 ? { ...said[parent] } : {};
      said.push(now);
    } else if (word === 'WORKDIR') now.workdir = path.posix.resolve(now.workdir ?? '/', sub(rest));
    else if (word === 'CMD') now.cmd = commandForm(rest);
    else if (word === 'EXPOSE') {
      const ports = sub(rest)
        .split(/\s+/)
        .map((p) => Number(p.replace(/\/(tcp|udp)$/i, '')));
      now.expose = [...(now.expose ?? []), ...ports.filter((p) => Number.isInteger(p) && p > 0)];
    } else if (word === 'ENTRYPOINT') now.entrypoint = commandForm(rest);
  }
  const built =
    target === undefined
      ? out.stages.length - 1
      : out.stages.findIndex((st) => st.as?.toLowerCase() === target.toLowerCase());
  if (built < 0)
    throw new UserError(
      `build.target "${target}" names no stage of ${file} (its stages: ${out.stages.flatMap((st) => st.as ?? []).join(', ') || 'none named'}): name one of them in the compose file.`,
    );
  const needed = new Set<number>();
  const need = (i: number | undefined) => {
    if (i === undefined || needed.has(i)) return;
    needed.add(i);
    need(out.stages[i]?.parent);
    for (const c of out.stages[i]?.copiesFrom ?? []) need(c);
  };
  need(built);
  out.needed = [...needed].sort((a, b) => a - b);
  let first = built;
  while (out.stages[first]?.parent !== undefined) first = out.stages[first]?.parent as number;
  const { workdir, cmd, entrypoint, env, copies, expose } = said[built] ?? {};
  return {
    ...out,
    env: env ?? {},
    copies: copies ?? [],
    expose: expose ?? [],
    ...(out.from[first] !== undefined ? { base: out.from[first] } : {}),
    ...(workdir ? { workdir } : {}),
    ...(cmd ? { cmd } : {}),
    ...(entrypoint ? { entrypoint } : {}),
  };
}

/** Lines of a Dockerfile ([first, last], 0-based) and the lines to put in their place. */
export interface Replacement {
  lines: [number, number];
  text: string[];
}

/**
 * The text of a Dockerfile with the bases of some stages (by index) put in place, and any other
 * instructions replaced: each such FROM, however it was written (over several lines, with
 * flags), becomes one line with a comment naming what it replaced. Every other line is kept.
 */
export function withBases(
  file: string,
  parsed: Dockerfile,
  bases: Map<number, string>,
  more: Replacement[] = [],
): string {
  const lines = readFileSync(file, 'utf8').split('\n');
  const replacements = [...more];
  for (const [i, stage] of parsed.stages.entries()) {
    const base = bases.get(i);
    if (!base) continue;
    const from = ['FROM', ...stage.flags, base, ...(stage.as ? ['AS', stage.as] : [])].join(' ');
    replacements.push({
      lines: stage.lines,
      text: [`# realstack: ${stage.written} cannot be pulled here`, from],
    });
  }
  // From the last line up, so that the line numbers of the earlier ones still hold.
  for (const {
    lines: [first, last],
    text,
  } of replacements.sort((a, b) => b.lines[0] - a.lines[0]))
    lines.splice(first, last - first + 1, ...text);
  return lines.join('\n');
}
