import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';

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
   * given (`AS build`), and the lines of its FROM.
   */
  stages: { written: string; flags: string[]; as?: string; lines: [number, number] }[];
  /** The defaults of its ARG lines. */
  argDefaults: Record<string, string>;
  workdir?: string;
  cmd?: string[];
  entrypoint?: string[];
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

/** The few instructions of a Dockerfile realstack reads: base images, ARG defaults, WORKDIR, CMD, ENTRYPOINT. */
export function readDockerfile(file: string, args: Record<string, string> = {}): Dockerfile | undefined {
  if (!existsSync(file)) return undefined;
  const defaults: Record<string, string> = {};
  const out: Dockerfile = { from: [], stages: [], argDefaults: defaults };
  const sub = (s: string) =>
    s.replace(/\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?/g, (_, v: string) => args[v] ?? defaults[v] ?? '');
  for (const { word, rest, lines } of instructions(readFileSync(file, 'utf8'))) {
    if (word === 'ARG') {
      const [k, v] = rest.split('=') as [string, string?];
      if (v !== undefined) defaults[k] = v.replace(/^"(.*)"$/, '$1');
    } else if (word === 'FROM') {
      const words = rest.split(/\s+/);
      const flags = words.filter((w) => w.startsWith('--'));
      const [image, as, name] = words.filter((w) => !w.startsWith('--')) as [string, string?, string?];
      out.stages.push({
        written: image,
        flags,
        ...(as?.toUpperCase() === 'AS' && name ? { as: name } : {}),
        lines,
      });
      out.from.push(sub(image));
    } else if (word === 'WORKDIR') out.workdir = path.posix.resolve(out.workdir ?? '/', sub(rest));
    else if (word === 'CMD') out.cmd = commandForm(rest);
    else if (word === 'ENTRYPOINT') out.entrypoint = commandForm(rest);
  }
  return out;
}

/**
 * The text of a Dockerfile with the bases of some stages (by index) put in place: each such FROM,
 * however it was written (over several lines, with flags), becomes one line with a comment naming
 * what it replaced. Every other line is kept as it was.
 */
export function withBases(file: string, parsed: Dockerfile, bases: Map<number, string>): string {
  const lines = readFileSync(file, 'utf8').split('\n');
  // From the last stage up, so that the line numbers of the earlier ones still hold.
  for (const [i, stage] of [...parsed.stages.entries()].reverse()) {
    const base = bases.get(i);
    if (!base) continue;
    const from = ['FROM', ...stage.flags, base, ...(stage.as ? ['AS', stage.as] : [])].join(' ');
    const [first, last] = stage.lines;
    lines.splice(first, last - first + 1, `# realstack: ${stage.written} cannot be pulled here`, from);
  }
  return lines.join('\n');
}
