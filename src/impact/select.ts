import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { minimatch } from 'minimatch';
import type { ToolkitConfig } from '../config/toolkit.js';
import { projectOutputs } from '../conventions/outputs.js';
import type { StackSpec } from '../stack/spec.js';
import { changedSince, commitsSince, type Hunk, hunks, showFile } from '../util/git.js';
import { changedBlocks, fromRanges, hashText, TOP } from './blocks.js';
import { configHash, type ImpactMap } from './map.js';

/** What a change is measured against: the map's own recording, a commit, or files named. */
export type Changes = { kind: 'map' } | { kind: 'since'; ref: string } | { kind: 'files'; files: string[] };

export interface SelectedTest {
  file: string;
  reasons: string[];
}

export interface Selection {
  /** Every test runs, and why (a stale map, a change the map cannot see). Empty: a true selection. */
  everything: string[];
  selected: SelectedTest[];
  /** The set's test files, in tap's order. */
  suite: string[];
  /** Each changed file, with what it did to the selection. */
  changed: { file: string; verdict: string }[];
  notes: string[];
  /** Share of the suite's recorded time the selection needs (0 to 1), when the map knows the times. */
  share: number | undefined;
}

/** What builds, configures or starts a stack: a change to it can change any test's outcome. */
const INFRASTRUCTURE = [
  '*compose*.y*ml',
  'realstack.json',
  'package.json',
  'package-lock.json',
  'npm-shrinkwrap.json',
  'yarn.lock',
  'pnpm-lock.yaml',
  '*Dockerfile*',
  '.dockerignore',
  '.env*',
  'tsconfig*.json',
  '.taprc',
];

/** Each test that ran some of `file`, with the reason given. */
function testsThatRan(map: ImpactMap, file: string, why: string): Map<string, string> {
  return new Map(
    Object.entries(map.tests)
      .filter(([, t]) => t.files[file])
      .map(([id]) => [id, why]),
  );
}

/** Changed lines of a file from hunks, on the side whose numbering `side` names. */
function hunkLines(list: Hunk[], side: 'old' | 'new'): number[] {
  const lines: number[] = [];
  for (const h of list) {
    const start = side === 'old' ? h.oldStart : h.newStart;
    const count = side === 'old' ? h.oldLines : h.newLines;
    // Lines added between two others (count 0 on this side): both neighbours are touched.
    if (count === 0) lines.push(start, start + 1);
    else for (let l = start; l < start + count; l++) lines.push(l);
  }
  return lines;
}

interface Context {
  config: ToolkitConfig;
  map: ImpactMap;
  changes: Changes;
  /** The map's commit, when this history has it. */
  commit: string | undefined;
  roots: { service: string; dir: string }[];
  testDirs: string[];
  suite: Set<string>;
  /** Folders realstack and tap write into while they run: never a change to the code. */
  outputs: string[];
}

type Verdict = { all: string } | { tests: Map<string, string>; verdict: string } | { ignore: string };

/** The lines of a changed service file, in the map's numbering, that differ from the recording. */
async function changedLinesOf(
  ctx: Context,
  file: string,
): Promise<{ lines: number[] } | { all: string } | 'same'> {
  const recorded = ctx.map.sources[file] as ImpactMap['sources'][string];
  const dir = ctx.config.projectDir;
  const text = readFileSync(path.join(dir, file), 'utf8');
  if (hashText(text) === recorded.hash) {
    // As recorded: the map's numbering is today's, so a diff's new side can be read on it.
    if (ctx.changes.kind === 'since')
      return { lines: hunkLines(await hunks(dir, ctx.changes.ref, file), 'new') };
    return 'same';
  }
  if (ctx.commit) {
    const then = await showFile(dir, ctx.commit, file);
    if (then !== undefined && hashText(then) === recorded.hash)
      return { lines: hunkLines(await hunks(dir, ctx.commit, file), 'old') };
  }
  // No history to diff against: the blocks whose own lines differ, by their fingerprints.
  const blocks = changedBlocks(recorded, text);
  if (blocks.has(TOP)) return { all: `${file}: its top level changed (it runs before every test)` };
  const lines: number[] = [];
  for (const i of blocks) {
    const b = recorded.blocks[i];
    if (b) for (let l = b.start; l <= b.end; l++) lines.push(l);
  }
  return { lines };
}

async function judge(ctx: Context, file: string): Promise<Verdict> {
  const { config, map } = ctx;
  if (config.project.impact.ignore.some((g) => minimatch(file, g, { dot: true })))
    return { ignore: 'ignored (impact.ignore): no test depends on it' };
  if (ctx.suite.has(file))
    return { tests: new Map([[file, 'the test file changed']]), verdict: 'a test file' };
  const recorded = map.sources[file];
  if (recorded) {
    if (!existsSync(path.join(config.projectDir, file))) {
      const tests = testsThatRan(map, file, `ran ${file} (deleted)`);
      return { tests, verdict: `deleted: every test that ran it (${tests.size})` };
    }
    const changed = await changedLinesOf(ctx, file);
    if (changed === 'same') {
      if (ctx.changes.kind === 'map') return { ignore: 'the same as when the map was recorded' };
      if (map.startup[file])
        return { all: `${file} is named as changed, and the services ran it as they started` };
      const tests = testsThatRan(map, file, `ran ${file}, named as changed (the same as recorded)`);
      return { tests, verdict: `the same as recorded: every test that ran it (${tests.size})` };
    }
    if ('all' in changed) return changed;
    const lines = new Set(changed.lines);
    const startup = fromRanges(map.startup[file]?.lines ?? '').filter((l) => lines.has(l));
    if (startup.length > 0)
      return {
        all: `${file}:${startup[0]} changed, and the services ran it as they started (before every test)`,
      };
    const ranBy = Object.entries(map.tests).map(
      ([id, t]) => [id, fromRanges(t.files[file]?.lines ?? '')] as const,
    );
    const attributed = new Set(ranBy.flatMap(([, ran]) => ran));
    const outside = fromRanges(recorded.ran).filter((l) => lines.has(l) && !attributed.has(l));
    if (outside.length > 0)
      return {
        all: `${file}:${outside[0]} changed, and it ran outside every test's slice (a worker thread, or a process that did not slice)`,
      };
    const tests = new Map<string, string>();
    for (const [id, ran] of ranBy) {
      const hit = ran.filter((l) => lines.has(l));
      if (hit.length > 0)
        tests.set(id, `ran ${file}:${hit.slice(0, 3).join(',')}${hit.length > 3 ? ',…' : ''}, changed`);
    }
    const where = changed.lines.length > 0 ? `lines ${[...lines].sort((a, b) => a - b)[0]}…` : 'no line';
    return {
      tests,
      verdict:
        tests.size > 0
          ? `${where}: ${tests.size} test${tests.size === 1 ? '' : 's'} ran the changed lines`
          : `${where}: no recorded test ran the changed lines`,
    };
  }
  if (INFRASTRUCTURE.some((g) => minimatch(file, g, { dot: true, matchBase: true })))
    return { all: `the map cannot see ${file}: how the stack is built, configured or started changed` };
  if (ctx.testDirs.some((d) => `${file}/`.startsWith(`${d}/`)))
    return {
      all: `${file} is beside the tests (a helper?): the map records the services' code, not what tests import`,
    };
  const root = ctx.roots.find((r) => r.dir === '' || `${file}/`.startsWith(`${r.dir}/`));
  if (root)
    return {
      all: `${file} belongs to service ${root.service}, but no recorded process ran it (a migration, a config file, a new module?)`,
    };
  return {
    all: `the map cannot see ${file}: no recorded service process ran it`,
  };
}

/**
 * The tests a change needs (docs/impact.md): those that ran a changed line of a service, those
 * new or changed themselves, those the map does not know; everything, with the reason, when
 * the map is stale or a change is one it cannot see.
 */
export async function selectTests(
  config: ToolkitConfig,
  stack: StackSpec,
  map: ImpactMap,
  suiteFiles: string[],
  changes: Changes,
): Promise<Selection> {
  const dir = config.projectDir;
  const everything: string[] = [];
  const notes: string[] = [];
  let commit: string | undefined;
  if (map.config !== configHash(config))
    everything.push('realstack.json or the compose file changed since the map was recorded: record it again');
  if (map.commit) {
    const back = await commitsSince(dir, map.commit);
    if (back === undefined)
      notes.push(
        `the map's commit ${map.commit.slice(0, 8)} is not in this history: changes are found by the blocks' fingerprints`,
      );
    else {
      commit = map.commit;
      if (back > config.project.impact.maxCommits)
        everything.push(
          `the map is stale: recorded ${back} commits back (impact.maxCommits is ${config.project.impact.maxCommits}); record it again`,
        );
    }
  }
  let files: string[];
  if (changes.kind === 'files') files = changes.files.map((f) => path.relative(dir, path.resolve(dir, f)));
  else if (changes.kind === 'since') files = await changedSince(dir, changes.ref);
  else if (commit) files = await changedSince(dir, commit);
  else {
    files = [];
    everything.push(
      'the map has no commit in this history to compare with: give --since REF or the changed files',
    );
  }

  const ctx: Context = {
    config,
    map,
    changes,
    commit,
    roots: stack.services
      .flatMap((s) => (s.sourceRoot ? [{ service: s.name, dir: path.relative(dir, s.sourceRoot.host) }] : []))
      .filter((r) => !r.dir.startsWith('..')),
    testDirs: [...new Set(suiteFiles.map((f) => path.dirname(f)))],
    suite: new Set(suiteFiles),
    outputs: projectOutputs(config).map((o) => path.relative(dir, o)),
  };
  const reasons = new Map<string, string[]>();
  const add = (file: string, reason: string) => reasons.set(file, [...(reasons.get(file) ?? []), reason]);
  const changed: Selection['changed'] = [];
  const isOutput = (f: string) => ctx.outputs.some((o) => `${f}/`.startsWith(`${o}/`));
  for (const file of files.filter((f) => !isOutput(f))) {
    const v = await judge(ctx, file);
    if ('all' in v) {
      everything.push(v.all);
      changed.push({ file, verdict: 'every test' });
    } else if ('ignore' in v) changed.push({ file, verdict: v.ignore });
    else {
      for (const [test, why] of v.tests) if (ctx.suite.has(test)) add(test, why);
      changed.push({ file, verdict: v.verdict });
    }
  }
  for (const f of suiteFiles) if (!map.tests[f]) add(f, 'new: not in the map');

  const selected = suiteFiles
    .filter((f) => everything.length > 0 || reasons.has(f))
    .map((f) => ({ file: f, reasons: reasons.get(f) ?? ['every test runs'] }));
  const ms = (f: string) => map.tests[f]?.ms ?? undefined;
  const total = suiteFiles.reduce((sum, f) => sum + (ms(f) ?? 0), 0);
  const known = suiteFiles.every((f) => ms(f) !== undefined);
  const share =
    total > 0 && known ? selected.reduce((sum, t) => sum + (ms(t.file) ?? 0), 0) / total : undefined;
  return { everything, selected, suite: suiteFiles, changed, notes, share };
}

/** The selection as a table: the changes, then each selected test with its reasons. */
export function describeSelection(sel: Selection, base: string): string {
  const out: string[] = [];
  out.push(`${sel.changed.length} changed file${sel.changed.length === 1 ? '' : 's'} ${base}`);
  for (const c of sel.changed) out.push(`  ${c.file}: ${c.verdict}`);
  for (const n of sel.notes) out.push(`note: ${n}`);
  if (sel.everything.length > 0) {
    out.push(`every test runs (${sel.suite.length} files):`);
    for (const why of [...new Set(sel.everything)]) out.push(`  ${why}`);
    return out.join('\n');
  }
  const share =
    sel.share === undefined ? '' : `, ${Math.round(sel.share * 100)}% of the suite's recorded time`;
  out.push(`selected ${sel.selected.length} of ${sel.suite.length} test files${share}:`);
  const width = Math.max(0, ...sel.selected.map((t) => t.file.length));
  for (const t of sel.selected) out.push(`  ${t.file.padEnd(width)}  ${t.reasons.join('; ')}`);
  return out.join('\n');
}
