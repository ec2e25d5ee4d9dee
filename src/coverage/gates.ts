import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import libCoverage, { type CoverageMap } from 'istanbul-lib-coverage';
import { minimatch } from 'minimatch';
import type { CoverageConfig, Metric } from '../config/project.js';
import { UserError } from '../errors.js';

export interface GateFailure {
  scope: string;
  metric: Metric;
  actual: number;
  wanted: number;
  uncoveredLines?: number[];
}

/** Every threshold not met: globally, and per file for each glob; with the uncovered lines. */
export function checkGates(map: CoverageMap, config: CoverageConfig, projectDir: string): GateFailure[] {
  const failures: GateFailure[] = [];
  const summary = map.getCoverageSummary();
  for (const [metric, wanted] of Object.entries(config.global) as [Metric, number][]) {
    const actual = summary[metric].pct;
    if (actual < wanted) failures.push({ scope: 'all services', metric, actual, wanted });
  }
  for (const [glob, wants] of Object.entries(config.files)) {
    for (const file of map.files()) {
      const rel = path.relative(projectDir, file);
      if (!minimatch(rel, glob)) continue;
      const fc = map.fileCoverageFor(file);
      const s = fc.toSummary();
      for (const [metric, wanted] of Object.entries(wants) as [Metric, number][]) {
        if (s[metric].pct < wanted) {
          failures.push({
            scope: rel,
            metric,
            actual: s[metric].pct,
            wanted,
            uncoveredLines: fc.getUncoveredLines().map(Number),
          });
        }
      }
    }
  }
  return failures;
}

/** "12-14, 20" from [12, 13, 14, 20]. */
export function lineRanges(lines: number[]): string {
  const out: string[] = [];
  for (let i = 0; i < lines.length; i++) {
    const start = lines[i] as number;
    while (i + 1 < lines.length && lines[i + 1] === (lines[i] as number) + 1) i++;
    out.push(start === lines[i] ? `${start}` : `${start}-${lines[i]}`);
  }
  return out.join(', ');
}

/** `realstack coverage check`: the gates against coverage/all/coverage-final.json of the last report. */
export function checkGatesOfLastReport(
  projectDir: string,
  coverageDir: string,
  config: CoverageConfig,
): GateFailure[] {
  const file = path.join(coverageDir, 'all', 'coverage-final.json');
  if (!existsSync(file))
    throw new UserError(
      `${file} does not exist: run \`npx realstack test-coverage\` (or \`npx realstack coverage report\`) first.`,
    );
  const map = libCoverage.createCoverageMap(JSON.parse(readFileSync(file, 'utf8')));
  return checkGates(map, config, projectDir);
}
