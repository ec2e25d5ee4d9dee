import { existsSync } from 'node:fs';
import type { ToolkitConfig } from '../config/toolkit.js';
import { History, historyFile, type RunRecord } from '../flaky/history.js';
import { keyOf, quarantineByThreshold } from '../flaky/policy.js';
import type { Log } from '../log.js';
import type { Counts, FileCounts } from '../results/model.js';
import { headCommit } from '../util/git.js';
import type { StackEvent } from './stack-watch.js';

/** The tests the history has set apart now. */
export async function quarantinedNow(config: ToolkitConfig): Promise<Set<string>> {
  const file = historyFile(config);
  if (!existsSync(file)) return new Set();
  const h = await History.read(file);
  try {
    return new Set(h.quarantined().map(keyOf));
  } finally {
    h.close();
  }
}

/** A quarantined test that failed is reported as such, and fails no run. */
export function setApart(files: FileCounts[], quarantined: Set<string>): void {
  for (const f of files)
    for (const t of f.tests)
      if (t.status === 'failed' && quarantined.has(keyOf({ file: f.file, test: t.name })))
        t.status = 'quarantined';
}

/**
 * Each test that failed in some attempt gets its class: `stack` when the engine saw the stack
 * change (an exit, a restart, a pause, health lost) while one of its failing attempts ran.
 */
export function classify(
  files: FileCounts[],
  failedWindows: Map<string, [number, number][]>,
  eventsBetween: (from: number, to: number) => StackEvent[],
): void {
  for (const f of files)
    for (const t of f.tests) {
      if (t.failures.length === 0) continue;
      const events = (failedWindows.get(keyOf({ file: f.file, test: t.name })) ?? []).flatMap(([from, to]) =>
        eventsBetween(from, to),
      );
      t.failureClass = events.length > 0 ? 'stack' : 'test';
      if (events.length > 0)
        t.stack = [...new Set(events.map((e) => `${new Date(e.at).toISOString()} ${e.what}`))];
    }
}

/** Adds the run to the history and quarantines what its threshold now calls for. */
export async function recordRun(
  config: ToolkitConfig,
  counts: Counts,
  run: Omit<RunRecord, 'commit'>,
  log: Log,
): Promise<void> {
  const commit = await headCommit(config.projectDir);
  const file = historyFile(config);
  const added = await History.change(file, (h) => {
    h.addRun({ ...run, commit }, counts);
    return quarantineByThreshold(h, config.project.flaky);
  });
  for (const q of added)
    log(`quarantined: ${q.file}: ${q.test}: ${q.reason} (\`just fix-quarantined\` releases it)`);
}
