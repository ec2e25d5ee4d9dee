import {
  cpSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import path from 'node:path';
import type { ToolkitConfig } from '../config/toolkit.js';
import { EXIT_CODES_FILE } from '../coverage/collect.js';
import { instrument, spyOptions } from '../coverage/instrument.js';
import { coveragePaths, describeLines, describeOutcome, reportCoverage } from '../coverage/pipeline.js';
import { UserError } from '../errors.js';
import type { Log } from '../log.js';
import { type Counts, tally } from '../results/model.js';
import { projectStack } from '../stack/compose.js';
import { recordRun } from './record-history.js';
import { recordResults } from './results.js';
import { closingLine } from './run-tests.js';
import { SHARD_FILE, type ShardManifest } from './shard.js';

interface Found {
  file: string;
  manifest: ShardManifest;
}

/** Where a CI system's download put a shard's files: its manifest, at most a few folders down. */
function findManifests(dir: string, depth = 4): string[] {
  if (depth < 0) return [];
  let entries: import('node:fs').Dirent[];
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return [];
  }
  return entries.flatMap((e) => {
    if (e.isFile() && e.name === SHARD_FILE) return [path.join(dir, e.name)];
    if (e.isDirectory() && e.name !== 'node_modules' && e.name !== '.git')
      return findManifests(path.join(dir, e.name), depth - 1);
    return [];
  });
}

/** A manifest's shape, checked once: a file from another tool or version is named, not trusted. */
function readManifest(file: string): ShardManifest {
  let m: Partial<ShardManifest>;
  try {
    m = JSON.parse(readFileSync(file, 'utf8')) as Partial<ShardManifest>;
  } catch (err) {
    throw new UserError(`${file} is not JSON (${(err as Error).message}): was the shard's upload cut short?`);
  }
  const ok =
    m.version === 1 &&
    Number.isInteger(m.shard) &&
    Number.isInteger(m.of) &&
    Array.isArray(m.files) &&
    Array.isArray(m.mine) &&
    Array.isArray(m.counts?.files) &&
    (m.kind === 'test' || m.kind === 'coverage');
  if (!ok)
    throw new UserError(
      `${file} is not a shard manifest this realstack reads (version 1): was it written by another version? Run every shard and the merge with the same realstack.`,
    );
  return m as ShardManifest;
}

/**
 * What the shards say about the whole: one set of files split N ways, every part there once.
 * A problem that makes the merge meaningless throws; a missing or failed shard is named and
 * fails the merge, with what there is still reported.
 */
function checkShards(found: Found[]): string[] {
  const [first] = found;
  if (!first) return [];
  const of = first.manifest.of;
  for (const f of found) {
    if (f.manifest.of !== of)
      throw new UserError(
        `${f.file} is shard ${f.manifest.shard} of ${f.manifest.of}, ${first.file} of ${of}: merge the shards of one run.`,
      );
    if (JSON.stringify(f.manifest.files) !== JSON.stringify(first.manifest.files))
      throw new UserError(
        `${f.file} and ${first.file} split different lists of test files (${f.manifest.files.length} and ${first.manifest.files.length}): were the shards run on different commits or with different arguments?`,
      );
  }
  const problems: string[] = [];
  for (let i = 1; i <= of; i++) {
    const mine = found.filter((f) => f.manifest.shard === i);
    if (mine.length > 1)
      throw new UserError(`shard ${i} of ${of} is there twice: ${mine.map((f) => f.file).join(', ')}.`);
    if (mine.length === 0)
      problems.push(`shard ${i} of ${of} is missing: no ${SHARD_FILE} of it among the folders given`);
  }
  const taken = new Map<string, number>();
  for (const f of found)
    for (const file of f.manifest.mine) {
      const other = taken.get(file);
      if (other !== undefined)
        problems.push(
          `${file} ran in shard ${other} and in shard ${f.manifest.shard}: the shards weighed the files differently (give every shard the same run history, or none)`,
        );
      taken.set(file, f.manifest.shard);
    }
  const present = new Set(found.map((f) => f.manifest.shard));
  const lost = first.manifest.files.filter((file) => !taken.has(file));
  // A file of a missing shard is already named with it.
  if (lost.length > 0 && present.size === of)
    problems.push(`no shard ran ${lost.join(', ')}: the shards weighed the files differently`);
  for (const f of found) {
    const c = f.manifest.counts;
    if (c.failed > 0)
      problems.push(
        `shard ${f.manifest.shard} of ${of} failed: ${c.failed} failed (${path.dirname(f.file)})`,
      );
  }
  return problems;
}

/** Each shard's dumps under raw/<instance>@shard-<i>/, with their exit codes: one harvest of many. */
function gatherCoverage(found: Found[], raw: string): number {
  rmSync(raw, { recursive: true, force: true });
  mkdirSync(raw, { recursive: true });
  const exitCodes: Record<string, number | null> = {};
  let instances = 0;
  for (const { file, manifest } of found) {
    if (!manifest.coverageRaw) continue;
    const from = path.resolve(path.dirname(file), manifest.coverageRaw);
    if (!existsSync(from)) continue;
    let codes: Record<string, number | null> = {};
    try {
      codes = JSON.parse(readFileSync(path.join(from, EXIT_CODES_FILE), 'utf8'));
    } catch {}
    for (const instance of readdirSync(from)) {
      if (!statSync(path.join(from, instance)).isDirectory()) continue;
      const named = `${instance}@shard-${manifest.shard}`;
      cpSync(path.join(from, instance), path.join(raw, named), { recursive: true });
      if (instance in codes) exitCodes[named] = codes[instance] ?? null;
      instances++;
    }
  }
  writeFileSync(path.join(raw, EXIT_CODES_FILE), `${JSON.stringify(exitCodes, null, 2)}\n`);
  return instances;
}

/**
 * `realstack merge DIR...`: the shards of one run (each a folder holding what a shard left: its
 * test-results/ with realstack-shard.json, and for coverage runs its coverage/raw/) as one run:
 * the JUnit file, the closing line, the run history, and for coverage runs the reports and
 * gates, as if the suite had run on one machine. A missing or failed shard is named and fails it.
 */
export async function mergeShards(config: ToolkitConfig, dirs: string[], log: Log): Promise<number> {
  if (dirs.length === 0)
    throw new UserError(
      "realstack merge DIR...: name the folders holding the shards' results (each with a realstack-shard.json).",
      2,
    );
  const found: Found[] = [];
  for (const dir of dirs) {
    if (!existsSync(dir)) throw new UserError(`merge: ${dir} does not exist.`, 2);
    const files = findManifests(path.resolve(dir));
    if (files.length === 0)
      throw new UserError(
        `merge: ${dir} holds no ${SHARD_FILE}: run its tests with \`realstack test --shard I/N\` (or test-coverage --shard I/N) and keep its test-results/ folder.`,
        2,
      );
    for (const file of files) found.push({ file, manifest: readManifest(file) });
  }
  found.sort((a, b) => a.manifest.shard - b.manifest.shard);
  const problems = checkShards(found);
  const of = found[0]?.manifest.of ?? 0;
  log(
    `merging ${found.length} of ${of} shards: ${found.map((f) => path.relative(process.cwd(), f.file) || f.file).join(', ')}`,
  );

  const files = found.flatMap((f) => f.manifest.counts.files).sort((a, b) => a.file.localeCompare(b.file));
  const counts: Counts = tally(files);
  const run = {
    runId: `merged:${found.map((f) => f.manifest.runId).join(',')}`,
    engine: [...new Set(found.map((f) => f.manifest.engine))].join(','),
  };
  recordResults(config, counts, run);
  const kind = found.every((f) => f.manifest.kind === 'coverage') ? 'coverage' : 'test';
  await recordRun(config, counts, { ...run, kind }, log);

  let covered = true;
  if (kind === 'coverage') {
    const raw = coveragePaths(config.coverageDir).raw;
    const instances = gatherCoverage(found, raw);
    log(
      `gathered the coverage of ${instances} instances from ${found.length} shards into ${path.relative(config.projectDir, raw)}/`,
    );
    // The stack as test-coverage ran it: with the overlay that says which services are measured.
    const stack = instrument(projectStack(config), spyOptions(config));
    const outcome = await reportCoverage(stack, config.coverage, config.coverageDir, log);
    covered = describeOutcome(outcome, log);
    log(describeLines(outcome.lines));
  } else if (found.some((f) => f.manifest.kind === 'coverage'))
    log('coverage: not merged, since some shards ran without it (test-coverage --shard on every shard)');

  for (const p of problems) log(`merge: ${p}`);
  const testsPassed = closingLine(counts, log, config.project.flaky.failOnFlaky) === 0;
  return testsPassed && covered && problems.length === 0 ? 0 : 1;
}
