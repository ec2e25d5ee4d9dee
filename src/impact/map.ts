import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { CoverageMap, FileCoverage } from 'istanbul-lib-coverage';
import type { ToolkitConfig } from '../config/toolkit.js';
import { mergeRemapped, type Remapped, remapSlice } from '../coverage/remap.js';
import { coverageMapOf } from '../coverage/report.js';
import { UserError } from '../errors.js';
import { readSlices, type Slice, STARTUP } from '../spy/slices.js';
import type { StackSpec } from '../stack/spec.js';
import { writeFileWhole } from '../util/files.js';
import { headCommit } from '../util/git.js';
import { type FileBlocks, fingerprint, fromRanges, innermost, toRanges } from './blocks.js';

/** What one test file ran in one service file: its lines, and the blocks they are in. */
export interface TestFileRun {
  lines: string;
  /** Indices into the file's blocks (FileBlocks.blocks); TOP for the module's top level. */
  blocks: number[];
}

export interface TestRecord {
  /** tap's time for the file, for the share of the suite a selection needs. */
  ms: number | null;
  files: Record<string, TestFileRun>;
}

/** `.realstack/impact-map.json`: which test ran which code of the services (docs/impact.md). */
export interface ImpactMap {
  version: 1;
  recordedAt: string;
  /** HEAD when recorded; the blocks' line numbers are those of the working tree then. */
  commit: string | null;
  /** Hash of realstack.json and the compose files: another config is another map. */
  config: string;
  engine: string;
  /**
   * Every service file the run ran, as it was when recorded, with the lines the whole run ran:
   * those no slice holds ran outside any test's (a worker thread's, say).
   */
  sources: Record<string, FileBlocks & { ran: string }>;
  /** What the services ran while they started, before any test. */
  startup: Record<string, TestFileRun>;
  tests: Record<string, TestRecord>;
}

export const impactMapFile = (config: ToolkitConfig) => path.join(config.stateDir, 'impact-map.json');

/** The files that make a stack what it is: a map recorded with others does not describe this one. */
export function configHash(config: ToolkitConfig): string {
  const h = createHash('sha1');
  for (const f of [
    config.project.file,
    ...config.composeFiles.map((c) => path.resolve(config.projectDir, c)),
  ]) {
    if (f && existsSync(f)) h.update(f).update(readFileSync(f));
  }
  return h.digest('hex').slice(0, 16);
}

export function readImpactMap(config: ToolkitConfig): ImpactMap {
  const file = impactMapFile(config);
  if (!existsSync(file))
    throw new UserError(
      `no impact map (${path.relative(config.projectDir, file)}): record one with \`npx realstack test-coverage --per-test\` (just test-impact-record).`,
      2,
    );
  try {
    const map = JSON.parse(readFileSync(file, 'utf8')) as ImpactMap;
    if (map.version !== 1) throw new Error(`version ${map.version}`);
    return map;
  } catch (err) {
    throw new UserError(
      `${path.relative(config.projectDir, file)} cannot be read (${(err as Error).message}): record it again with \`npx realstack test-coverage --per-test\`.`,
      2,
    );
  }
}

/**
 * After a reset V8 reports only the functions that ran since, not the script's top level, and
 * v8-to-istanbul counts a line no range covers as run. A zero range over the whole script
 * says what it means: only what a reported function ran, ran.
 */
const fromZero = (script: Slice['result'][number]) => {
  const functions = (script.functions as { ranges: { startOffset: number }[] }[] | undefined) ?? [];
  if (functions.some((f) => f.ranges[0]?.startOffset === 0)) return script;
  const whole = {
    functionName: '',
    isBlockCoverage: true,
    ranges: [{ startOffset: 0, endOffset: 2 ** 30, count: 0 }],
  };
  return { ...script, functions: [whole, ...functions] };
};

/** The per-test istanbul maps, one conversion per test and service (c8, with the source maps). */
async function convert(slices: Slice[], stack: StackSpec): Promise<Map<string, CoverageMap[]>> {
  const byTest = new Map<string, Map<string, Remapped['cov'][]>>();
  for (const slice of slices) {
    const cov = remapSlice({ ...slice, result: slice.result.map(fromZero) }, stack);
    if (!cov || cov.result.length === 0) continue;
    const services = byTest.get(slice.id) ?? new Map<string, Remapped['cov'][]>();
    byTest.set(slice.id, services);
    services.set(slice.service, [...(services.get(slice.service) ?? []), cov]);
  }
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'realstack-impact-'));
  const out = new Map<string, CoverageMap[]>();
  try {
    let n = 0;
    for (const [id, services] of byTest) {
      const maps: CoverageMap[] = [];
      for (const covs of services.values()) {
        const dir = path.join(tmp, String(n++));
        mkdirSync(dir);
        writeFileSync(path.join(dir, 'slice.json'), JSON.stringify(mergeRemapped(covs)));
        maps.push(await coverageMapOf(dir, stack.projectDir));
      }
      out.set(id, maps);
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  return out;
}

const ranLines = (fc: FileCoverage) =>
  Object.entries(fc.getLineCoverage())
    .filter(([, hits]) => hits > 0)
    .map(([line]) => Number(line));

const spansOf = (fc: FileCoverage) =>
  Object.values(fc.fnMap).map((f) => ({ name: f.name, start: f.loc.start.line, end: f.loc.end.line }));

/**
 * Builds the impact map from a recording's slices and writes it under .realstack/. The blocks
 * of each file come from the run's whole coverage (every function V8 saw, run or not).
 */
export async function recordImpactMap(
  config: ToolkitConfig,
  stack: StackSpec,
  sliceDir: string,
  whole: CoverageMap,
  durations: Map<string, number | null>,
  engine: string,
): Promise<ImpactMap> {
  const perTest = await convert(readSlices(sliceDir), stack);
  const rel = (f: string) => path.relative(config.projectDir, f);
  const sources: ImpactMap['sources'] = {};
  for (const file of whole.files()) {
    if (!existsSync(file)) continue;
    const fc = whole.fileCoverageFor(file);
    sources[rel(file)] = {
      ...fingerprint(readFileSync(file, 'utf8'), spansOf(fc)),
      ran: toRanges(ranLines(fc)),
    };
  }
  const runsOf = (maps: CoverageMap[]): Record<string, TestFileRun> => {
    const lines = new Map<string, Set<number>>();
    const blocks = new Map<string, Set<number>>();
    for (const map of maps) {
      for (const file of map.files()) {
        const key = rel(file);
        const recorded = sources[key];
        if (!recorded) continue;
        const fc = map.fileCoverageFor(file);
        const ran = ranLines(fc);
        const fileLines = lines.get(key) ?? new Set<number>();
        const fileBlocks = blocks.get(key) ?? new Set<number>();
        for (const l of ran) {
          fileLines.add(l);
          fileBlocks.add(innermost(recorded.blocks, l));
        }
        // A function called once and left at its first await has run too, though no line after it.
        for (const [k, f] of Object.entries(fc.fnMap)) {
          if ((fc.f[k] ?? 0) > 0) {
            const i = recorded.blocks.findIndex(
              (b) => b.start === f.loc.start.line && b.end === f.loc.end.line,
            );
            fileBlocks.add(i >= 0 ? i : innermost(recorded.blocks, f.loc.start.line));
          }
        }
        if (fileLines.size > 0 || fileBlocks.size > 0) {
          lines.set(key, fileLines);
          blocks.set(key, fileBlocks);
        }
      }
    }
    return Object.fromEntries(
      [...lines].map(([file, ls]) => [
        file,
        { lines: toRanges([...ls]), blocks: [...(blocks.get(file) ?? [])].sort((a, b) => a - b) },
      ]),
    );
  };
  const tests: Record<string, TestRecord> = {};
  for (const [id, ms] of durations) tests[id] = { ms, files: runsOf(perTest.get(id) ?? []) };
  const map: ImpactMap = {
    version: 1,
    recordedAt: new Date().toISOString(),
    commit: (await headCommit(config.projectDir)) ?? null,
    config: configHash(config),
    engine,
    sources,
    startup: runsOf(perTest.get(STARTUP) ?? []),
    tests,
  };
  writeFileWhole(impactMapFile(config), `${JSON.stringify(map)}\n`);
  return map;
}

/** The tests that ran `file`'s line `line`, as the map recorded them. */
export function whoRan(map: ImpactMap, file: string, line: number): { tests: string[]; startup: boolean } {
  const ran = (r: TestFileRun | undefined) => r !== undefined && fromRanges(r.lines).includes(line);
  return {
    tests: Object.entries(map.tests)
      .filter(([, t]) => ran(t.files[file]))
      .map(([id]) => id)
      .sort(),
    startup: ran(map.startup[file]),
  };
}
