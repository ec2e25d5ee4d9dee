import { readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { Writable } from 'node:stream';
import type { ToolkitConfig } from '../config/toolkit.js';
import type { Engine } from '../engine/types.js';
import type { Counts } from '../results/model.js';
import { writeFileWhole } from '../util/files.js';
import { junitXml } from './junit.js';

/** What `diagnose-tests` reads back: the last run's verdict and its failing tests. */
export interface LastRun extends Omit<Counts, 'files'> {
  runId: string;
  engine: string;
  finishedAt: string;
  /** Each failing file and when it ran (epoch ms): where to look in the services' logs. */
  failedFiles: { file: string; from: number; to: number }[];
  junit: string;
}

export const junitFile = (config: ToolkitConfig) =>
  path.resolve(config.projectDir, config.env.REALSTACK_JUNIT_FILE || 'test-results/junit.xml');

/** A report of a run beside the JUnit file (test-results/ by default): perf.json, chaos.json, ... */
export const resultsFile = (config: ToolkitConfig, name: string) =>
  path.join(path.dirname(junitFile(config)), name);

const lastRunFile = (config: ToolkitConfig) => path.join(config.stateDir, 'last-run.json');

/**
 * The run's records beside the terminal output: a JUnit XML file for CI systems and the last
 * run's summary for diagnosis.
 */
export function recordResults(
  config: ToolkitConfig,
  counts: Counts,
  run: { runId: string; engine: string },
): void {
  writeFileWhole(junitFile(config), junitXml(counts));
  const last: LastRun = {
    ...run,
    finishedAt: new Date().toISOString(),
    passed: counts.passed,
    failed: counts.failed,
    skipped: counts.skipped,
    flaky: counts.flaky,
    quarantined: counts.quarantined,
    failures: counts.failures,
    failedFiles: counts.files
      .filter((f) => f.tests.some((t) => t.status === 'failed') && f.endedAt !== null)
      .map((f) => ({ file: f.file, from: (f.endedAt as number) - (f.ms ?? 0), to: f.endedAt as number })),
    junit: junitFile(config),
  };
  writeFileWhole(lastRunFile(config), `${JSON.stringify(last, null, 2)}\n`);
  // Logs of an earlier failing run would be read as this run's.
  rmSync(lastRunLogsFile(config), { force: true });
}

export const lastRunLogsFile = (config: ToolkitConfig) => path.join(config.stateDir, 'last-run-services.log');

/**
 * The services' last lines when tests failed, kept past `down`: `diagnose-tests` shows the
 * ones that look like errors beside the failing tests.
 */
export async function keepServiceLogs(config: ToolkitConfig, engine: Engine, lines = 2000): Promise<void> {
  const chunks: string[] = [];
  const out = new Writable({
    write(chunk, _encoding, done) {
      chunks.push(chunk.toString());
      done();
    },
  });
  await engine.logs(undefined, { follow: false, tail: lines, timestamps: true }, out).catch(() => undefined);
  writeFileWhole(lastRunLogsFile(config), chunks.join(''));
}

export function readLastRun(config: ToolkitConfig): LastRun | undefined {
  try {
    return JSON.parse(readFileSync(lastRunFile(config), 'utf8')) as LastRun;
  } catch {
    return undefined;
  }
}
