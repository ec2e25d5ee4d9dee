import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import libCoverage from 'istanbul-lib-coverage';
import type { ToolkitConfig } from '../config/toolkit.js';
import { UserError } from '../errors.js';
import type { StackSpec } from '../stack/spec.js';
import { writeFileWhole } from '../util/files.js';
import { changedSince, hunks } from '../util/git.js';
import { lineRanges } from './gates.js';

export interface FileDiffCoverage {
  file: string;
  /** Changed lines that are code (a statement starts or runs there). */
  executable: number[];
  uncovered: number[];
}

export interface DiffCoverage {
  base: string;
  files: FileDiffCoverage[];
  /** Changed code files of a service that no service process loaded: not in the figure, but said. */
  notLoaded: string[];
  covered: number;
  total: number;
  /** Percent of the changed code lines the run executed; undefined when no code line changed. */
  pct: number | undefined;
  /** The gate (coverage.diff.lines) when it is set and not met. */
  failed: { wanted: number } | undefined;
}

const CODE = /\.(c|m)?(j|t)sx?$/;

/**
 * Diff coverage: of the lines changed since `base` in the services' files, the share the last
 * coverage run executed (coverage/all/coverage-final.json, the working tree's line numbers).
 */
export async function diffCoverage(
  config: ToolkitConfig,
  stack: StackSpec,
  base: string,
): Promise<DiffCoverage> {
  const wanted = config.coverage.diff;
  const other = Object.keys(wanted).filter((m) => m !== 'lines');
  if (other.length > 0)
    throw new UserError(
      `coverage.diff gates lines only (changed lines have no ${other.join(', ')} of their own); remove ${other.join(', ')}.`,
      2,
    );
  const final = path.join(config.coverageDir, 'all', 'coverage-final.json');
  if (!existsSync(final))
    throw new UserError(
      `${path.relative(config.projectDir, final)} does not exist: run \`npx realstack test-coverage\` first.`,
      2,
    );
  const map = libCoverage.createCoverageMap(JSON.parse(readFileSync(final, 'utf8')));
  const dir = config.projectDir;
  const roots = stack.services.flatMap((s) => (s.sourceRoot ? [path.relative(dir, s.sourceRoot.host)] : []));
  const files: FileDiffCoverage[] = [];
  const notLoaded: string[] = [];
  for (const file of await changedSince(dir, base)) {
    const abs = path.join(dir, file);
    if (!map.files().includes(abs)) {
      const ofService = roots.some((r) => r === '' || `${file}/`.startsWith(`${r}/`));
      if (ofService && CODE.test(file) && existsSync(abs) && !file.split('/').includes('node_modules'))
        notLoaded.push(file);
      continue;
    }
    const lineHits = map.fileCoverageFor(abs).getLineCoverage();
    const changed = new Set<number>();
    const list = await hunks(dir, base, file);
    for (const h of list) for (let l = h.newStart; l < h.newStart + h.newLines; l++) changed.add(l);
    // An untracked file has no diff against base: all of it is new.
    if (list.length === 0) for (const l of Object.keys(lineHits)) changed.add(Number(l));
    const executable = [...changed].filter((l) => lineHits[l] !== undefined).sort((a, b) => a - b);
    if (executable.length === 0) continue;
    files.push({ file, executable, uncovered: executable.filter((l) => (lineHits[l] ?? 0) === 0) });
  }
  const total = files.reduce((n, f) => n + f.executable.length, 0);
  const covered = total - files.reduce((n, f) => n + f.uncovered.length, 0);
  const pct = total > 0 ? Math.round((covered / total) * 10_000) / 100 : undefined;
  const failed =
    wanted.lines !== undefined && pct !== undefined && pct < wanted.lines
      ? { wanted: wanted.lines }
      : undefined;
  return { base, files, notLoaded, covered, total, pct, failed };
}

export function describeDiffCoverage(d: DiffCoverage): string {
  const out = [
    d.pct === undefined
      ? `diff coverage since ${d.base}: no changed line of the services is code`
      : `diff coverage since ${d.base}: ${d.covered} of ${d.total} changed lines run (${d.pct}%)`,
  ];
  for (const f of d.files)
    out.push(
      `  ${f.file}: ${f.executable.length - f.uncovered.length}/${f.executable.length}${f.uncovered.length ? `, not run: ${lineRanges(f.uncovered)}` : ''}`,
    );
  for (const f of d.notLoaded) out.push(`  ${f}: changed, and no service process loaded it (not counted)`);
  if (d.failed) out.push(`coverage gate: diff lines ${d.pct}% < ${d.failed.wanted}%`);
  return out.join('\n');
}

/** The summary a CI posts on a pull request. */
export function diffMarkdown(d: DiffCoverage): string {
  const head =
    d.pct === undefined
      ? `No changed line of the services is code (since \`${d.base}\`).`
      : `**${d.pct}%** of the changed lines of the services ran in the tests (${d.covered} of ${d.total}, since \`${d.base}\`)${d.failed ? `: below the gate of ${d.failed.wanted}%` : ''}.`;
  const rows = d.files.map(
    (f) =>
      `| \`${f.file}\` | ${f.executable.length - f.uncovered.length}/${f.executable.length} | ${f.uncovered.length ? lineRanges(f.uncovered) : '-'} |`,
  );
  const table = rows.length
    ? ['', '| file | changed lines run | not run |', '| --- | --- | --- |', ...rows]
    : [];
  const notLoaded = d.notLoaded.map((f) => `- \`${f}\`: changed, and no service process loaded it`);
  return `## Diff coverage\n\n${head}\n${[...table, ...(notLoaded.length ? ['', ...notLoaded] : [])].join('\n')}\n`;
}

export function writeDiffMarkdown(config: ToolkitConfig, d: DiffCoverage): string {
  const file = path.join(config.coverageDir, 'diff.md');
  writeFileWhole(file, diffMarkdown(d));
  return file;
}
