import { existsSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import type { ToolkitConfig } from '../config/toolkit.js';
import { History, historyFile } from '../flaky/history.js';
import { type Counts, tally } from '../results/model.js';
import { writeFileWhole } from '../util/files.js';
import { headCommit } from '../util/git.js';
import { recordResults, resultsFile } from './results.js';
import { type Shard, setFiles, type TestRun } from './selection.js';

/** How the files were weighed: by the history's recorded times, or by their size in bytes. */
export type Basis = 'durations' | 'sizes';

/**
 * Each file's weight: its time in the last run that ran it, from the run history; a file the
 * history does not know weighs the mean of those it does. With no history at all, the file's
 * size stands in. Every shard must weigh alike (the same history, or none) to split alike:
 * `merge` checks that the shards' plans agree.
 */
async function weigh(
  config: ToolkitConfig,
  files: string[],
): Promise<{ weights: Map<string, number>; basis: Basis }> {
  const file = historyFile(config);
  if (existsSync(file)) {
    const h = await History.read(file);
    const known = h.fileDurations();
    h.close();
    const times = files.map((f) => known.get(f)).filter((ms): ms is number => ms !== undefined);
    if (times.length > 0) {
      const mean = times.reduce((a, b) => a + b, 0) / times.length;
      return { weights: new Map(files.map((f) => [f, known.get(f) ?? mean])), basis: 'durations' };
    }
  }
  return {
    weights: new Map(files.map((f) => [f, statSync(path.join(config.projectDir, f)).size])),
    basis: 'sizes',
  };
}

/**
 * Longest first, each to the lightest shard so far (ties: the lower shard, then the file
 * name): the same files and weights always give the same split.
 */
export function split(files: string[], weights: Map<string, number>, total: number): string[][] {
  const shards = Array.from({ length: total }, () => ({ weight: 0, files: [] as string[] }));
  const order = [...files].sort(
    (a, b) => (weights.get(b) ?? 0) - (weights.get(a) ?? 0) || a.localeCompare(b),
  );
  for (const f of order) {
    const lightest = shards.reduce((min, s) => (s.weight < min.weight ? s : min));
    lightest.files.push(f);
    lightest.weight += weights.get(f) ?? 0;
  }
  return shards.map((s) => s.files.sort());
}

/** What a shard runs, and what it needs to say so that `merge` can check the whole. */
export interface ShardPlan extends Shard {
  /** Every file of the set, in every shard alike. */
  files: string[];
  mine: string[];
  /** The files and folders the user named among tap's arguments: the shard runs its part of them. */
  named: string[];
  basis: Basis;
}

export async function planShard(config: ToolkitConfig, run: TestRun, shard: Shard): Promise<ShardPlan> {
  const { files, named } = await setFiles(run, config.projectDir);
  const { weights, basis } = await weigh(config, files);
  const mine = split(files, weights, shard.total)[shard.index - 1] as string[];
  return { ...shard, files, mine, named, basis };
}

/** The manifest a shard leaves beside its JUnit file: what `realstack merge` reads. */
export const SHARD_FILE = 'realstack-shard.json';

export interface ShardManifest {
  version: 1;
  shard: number;
  of: number;
  files: string[];
  mine: string[];
  basis: Basis;
  commit?: string;
  runId: string;
  engine: string;
  kind: 'test' | 'coverage';
  /** The harvested dumps of a coverage run, relative to the manifest's own folder. */
  coverageRaw?: string;
  counts: Counts;
}

/**
 * Leaves the shard's manifest beside its JUnit file: the plan, how the run went, and where
 * its coverage dumps are.
 */
export async function writeManifest(
  config: ToolkitConfig,
  plan: ShardPlan,
  run: Pick<ShardManifest, 'runId' | 'engine' | 'kind'> & { coverageRaw?: string },
  counts: Counts,
): Promise<void> {
  const file = resultsFile(config, SHARD_FILE);
  const commit = await headCommit(config.projectDir);
  const manifest: ShardManifest = {
    version: 1,
    shard: plan.index,
    of: plan.total,
    files: plan.files,
    mine: plan.mine,
    basis: plan.basis,
    ...(commit ? { commit } : {}),
    runId: run.runId,
    engine: run.engine,
    kind: run.kind,
    ...(run.coverageRaw ? { coverageRaw: path.relative(path.dirname(file), run.coverageRaw) } : {}),
    counts,
  };
  writeFileWhole(file, `${JSON.stringify(manifest, null, 2)}\n`);
}

/** What a shard that ran nothing names as its run and engine. */
export const NO_RUN = { runId: '(no files)', engine: '(none)' };

/** A shard left without files (more shards than files) starts no stack and counts nothing. */
export function emptyShard(config: ToolkitConfig): Counts {
  const counts = tally([]);
  recordResults(config, counts, NO_RUN);
  return counts;
}

/** An unsharded run leaves no manifest: an earlier shard's would be merged as this run's. */
export const clearManifest = (config: ToolkitConfig) =>
  rmSync(resultsFile(config, SHARD_FILE), { force: true });

/** What a shard says before it runs: which part, how many files, weighed how. */
export const describePlan = (p: ShardPlan) =>
  `shard ${p.index} of ${p.total}: ${p.mine.length} of ${p.files.length} test files (balanced by ${p.basis === 'durations' ? 'the recorded durations of earlier runs' : 'file size: the run history has no durations'})`;
