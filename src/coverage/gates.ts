import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import libCoverage, { type CoverageMap } from 'istanbul-lib-coverage';
import { minimatch } from 'minimatch';
import { UserError } from '../errors.js';

export const METRICS = ['lines', 'branches', 'functions', 'statements'] as const;
export type Metric = (typeof METRICS)[number];
export type Thresholds = Partial<Record<Metric, number>>;

/** realstack.coverage.json: the one place for thresholds and for gaps that are accepted. */
export interface CoverageConfig {
  /** Over all services together. */
  global: Thresholds;
  /** Per file, for files matching the glob (repository-relative), e.g. 100% for token code. */
  files: Record<string, Thresholds>;
  /** Services or instances whose missing dumps do not fail the run ("api", "api-2"). */
  allowMissing: string[];
}

function thresholds(value: unknown, where: string): Thresholds {
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new UserError(`${where} must be an object like {"lines": 80}`);
  const out: Thresholds = {};
  for (const [k, v] of Object.entries(value)) {
    if (!METRICS.includes(k as Metric))
      throw new UserError(`${where}: "${k}" is not a metric; use ${METRICS.join(', ')}`);
    if (typeof v !== 'number' || v < 0 || v > 100)
      throw new UserError(`${where}.${k} must be a percentage from 0 to 100`);
    out[k as Metric] = v;
  }
  return out;
}

/** Reads and validates the config once; absent means no gates. */
export function loadCoverageConfig(file: string): CoverageConfig {
  if (!existsSync(file)) return { global: {}, files: {}, allowMissing: [] };
  const name = path.basename(file);
  let raw: Record<string, unknown>;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new UserError(`${file} is not valid JSON: ${(err as Error).message}`);
  }
  const files = (raw.files ?? {}) as Record<string, unknown>;
  const allowMissing = raw.allowMissing ?? [];
  if (!Array.isArray(allowMissing) || !allowMissing.every((x) => typeof x === 'string')) {
    throw new UserError(`${file}: allowMissing must be a list of service or instance names`);
  }
  return {
    global: thresholds(raw.global ?? {}, `${name} global`),
    files: Object.fromEntries(
      Object.entries(files).map(([glob, t]) => [glob, thresholds(t, `${name} files["${glob}"]`)]),
    ),
    allowMissing,
  };
}

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
  configFile: string,
): GateFailure[] {
  const file = path.join(coverageDir, 'all', 'coverage-final.json');
  if (!existsSync(file))
    throw new UserError(
      `${file} does not exist: run \`just test-sidecar-coverage\` (or \`realstack coverage report\`) first.`,
    );
  const map = libCoverage.createCoverageMap(JSON.parse(readFileSync(file, 'utf8')));
  return checkGates(map, loadCoverageConfig(configFile), projectDir);
}
