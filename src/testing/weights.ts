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
