import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import type { ToolkitConfig } from '../config/toolkit.js';
import { History, historyFile } from '../flaky/history.js';

/** How the files were weighed: by the history's recorded times, or by their size in bytes. */
export type Basis = 'durations' | 'sizes';

/**
 * Each file's weight: its time in the last run that ran it, from the run history; a file the
 * history does not know weighs the mean of those it does. With no history at all, the file's
 * size stands in. Every shard must weigh alike (the same history, or none) to split alike:
 * `merge` checks that the shards' plans agree.
 */
export async function weigh(
  config: ToolkitConfig,
  files: string[],
  engine?: string,
): Promise<{ weights: Map<string, number>; basis: Basis }> {
  const file = historyFile(config);
  if (existsSync(file)) {
    const h = await History.read(file);
    const known = h.fileDurations(engine);
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
 * The order tap is given the files in: the longest first, so that no long file starts last
 * while the other jobs sit idle (on CI's two cores, a 60 s file started last kept one core idle
 * for most of a minute); the files of tap's serial folders after all the others, since they run
 * alone anyway, in their own (alphabetical) order.
 */
export async function longestFirst(
  config: ToolkitConfig,
  files: string[],
  serial: (file: string) => boolean,
): Promise<string[]> {
  // By the times on the engine this run asks for (CI runs the suite once per engine).
  const engine = config.engine === 'process' || config.engine === 'docker' ? config.engine : undefined;
  const { weights } = await weigh(config, files, engine);
  const parallel = files
    .filter((f) => !serial(f))
    .sort((a, b) => (weights.get(b) ?? 0) - (weights.get(a) ?? 0) || a.localeCompare(b));
  return [...parallel, ...files.filter(serial)];
}
