import { existsSync, mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { CoverageMap } from 'istanbul-lib-coverage';
import type { CoverageConfig } from '../config/project.js';
import type { Log } from '../log.js';
import { readSlices } from '../spy/slices.js';
import type { StackSpec } from '../stack/spec.js';
import { readAhead, within } from '../util/files.js';
import { trimBundles } from './bundles.js';
import { describeProcesses, findGaps, type Gap, readHarvest } from './collect.js';
import { checkGates, type GateFailure, lineRanges } from './gates.js';
import { isProjectFile, mergeRemapped, type Remapped, remapDump, remapSlice } from './remap.js';
import { combine, coverageMapOf, writeReports } from './report.js';

export interface CoverageOutcome {
  /** Gaps not allowed by the config: each fails the run. */
  gaps: Gap[];
  allowedGaps: Gap[];
  gateFailures: GateFailure[];
  /** What is no gap but worth saying: helpers left out, short-lived processes. */
  notes: string[];
  /** Percent of lines covered, per service and "all". */
  lines: Record<string, number>;
  /** All services' coverage together. */
  map: CoverageMap;
}

/** Where everything lives under the coverage folder (coverage/ unless REALSTACK_COVERAGE_DIR). */
export const coveragePaths = (root: string) => ({
  root,
  raw: path.join(root, 'raw'),
  remapped: path.join(root, '.remapped'),
  /** Per-test recording's slices (spy/slices.ts): part of the whole as much as the dumps. */
  slices: path.join(root, 'slices'),
});

/**
 * From harvested dumps (coverage/raw/<instance>/) to reports and verdicts: remap each dump to
 * repository paths, convert per service through c8, write per-service and combined reports
 * (coverage/<service>/, coverage/all/), then find gaps and apply the gates.
 */
export async function reportCoverage(
  stack: StackSpec,
  config: CoverageConfig,
  coverageDir: string,
  log: Log,
): Promise<CoverageOutcome> {
  const paths = coveragePaths(coverageDir);
  const instances = readHarvest(paths.raw);
  const grace = (service: string) => stack.services.find((s) => s.name === service)?.stopGraceSeconds ?? 10;
  const expected = stack.services.filter((s) => s.coverage).map((s) => s.name);
  const gaps = findGaps(instances, expected, grace);

  rmSync(paths.remapped, { recursive: true, force: true });
  const services = [...new Set(instances.map((i) => i.service))].sort();
  const perService = new Map<string, Remapped['cov'][]>(services.map((s) => [s, []]));
  const mapsSeen = new Map<string, Set<string>>(services.map((s) => [s, new Set()]));
  // The same sources are named by every dump of a service: ask the file system once each.
  const known = new Map<string, boolean>();
  const exists = (p: string) => known.get(p) ?? (known.set(p, existsSync(p)).get(p) as boolean);
  for (const i of instances) {
    const label = stack.services.find((s) => s.name === i.service)?.sourceRoot;
    // The spy records the root as the process saw it: /app in a container, the repo itself
    // under the process engine. The label says where that is in the repository.
    const root = label && { container: i.metas[0]?.sourceRoot ?? label.container, host: label.host };
    if (!root) {
      gaps.push({
        service: i.service,
        instance: i.instance,
        message: `service ${i.service} has no dev.realstack.source-root label: its dumps cannot be mapped to the repository.`,
      });
      continue;
    }
    const missing = new Set<string>();
    for await (const dump of readAhead(i.dumps)) {
      const { cov, outcome } = remapDump(dump, root, exists, mapsSeen.get(i.service));
      perService.get(i.service)?.push(cov);
      for (const m of outcome.missing) missing.add(m);
    }
    if (missing.size > 0) {
      const list = [...missing].map((m) => path.relative(stack.projectDir, m));
      gaps.push({
        service: i.service,
        instance: i.instance,
        message: `${i.instance}'s dumps name files that are not in the repository (${list.slice(0, 5).join(', ')}${list.length > 5 ? ', …' : ''}): rebuild (npm run build) or fix the source-root label (${root.container}=${path.relative(stack.projectDir, root.host) || '.'}).`,
      });
    }
  }

  // What a slice took, V8 reset: the stop's dumps hold only what ran after the last one.
  for (const slice of readSlices(paths.slices)) {
    const cov = remapSlice(slice, stack, exists);
    if (!cov) continue;
    if (!perService.has(slice.service)) services.push(slice.service);
    perService.set(slice.service, [...(perService.get(slice.service) ?? []), cov]);
  }

  const report = (name: string, map: CoverageMap) => {
    const dir = path.join(paths.root, name);
    const title = name === 'all' ? 'all services' : name;
    log(
      `\ncoverage of ${title} (${path.relative(stack.projectDir, dir)}/):\n${writeReports(map, dir, stack.projectDir)}`,
    );
  };
  // What c8 reports (report.ts): the project's files, not its packages', nothing outside it.
  const own = (file: string) => isProjectFile(file) && within(file, stack.projectDir);
  const maps = [];
  const lines: Record<string, number> = {};
  for (const service of services) {
    const covs = perService.get(service) ?? [];
    if (covs.length === 0) continue;
    const dumps = path.join(paths.remapped, service);
    mkdirSync(dumps, { recursive: true });
    writeFileSync(path.join(dumps, 'merged.json'), JSON.stringify(trimBundles(mergeRemapped(covs), own)));
    const map = await coverageMapOf(dumps, stack.projectDir);
    maps.push(map);
    lines[service] = map.getCoverageSummary().lines.pct;
    report(service, map);
  }
  const all = combine(maps);
  lines.all = all.getCoverageSummary().lines.pct;
  const [only] = Object.keys(lines).filter((k) => k !== 'all');
  if (maps.length === 1 && only) {
    // One service's reports are the combined ones: linked, not written again.
    rmSync(path.join(paths.root, 'all'), { recursive: true, force: true });
    symlinkSync(only, path.join(paths.root, 'all'));
    log(`\ncoverage of all services: ${only}'s (coverage/all/ links to coverage/${only}/)`);
  } else report('all', all);

  const allowed = (g: Gap) =>
    config.allowMissing.includes(g.service) ||
    (g.instance !== undefined && config.allowMissing.includes(g.instance));
  return {
    gaps: gaps.filter((g) => !allowed(g)),
    allowedGaps: gaps.filter(allowed),
    gateFailures: checkGates(all, config, stack.projectDir),
    notes: describeProcesses(instances),
    lines,
    map: all,
  };
}

/** Each service's line coverage in one line, and all of them together: `api 97.1%, all 98.2%`. */
export const describeLines = (lines: CoverageOutcome['lines']) =>
  `line coverage: ${Object.entries(lines)
    .map(([s, pct]) => `${s} ${pct}%`)
    .join(', ')}`;

/** The verdict in words: gaps first (they make every figure doubtful), then the gates. */
export function describeOutcome(
  outcome: Pick<CoverageOutcome, 'gaps' | 'allowedGaps' | 'gateFailures' | 'notes'>,
  log: Log,
): boolean {
  for (const n of outcome.notes) log(`coverage: ${n}`);
  for (const g of outcome.allowedGaps) log(`coverage gap (allowed by allowMissing): ${g.message}`);
  for (const g of outcome.gaps) log(`coverage gap: ${g.message}`);
  for (const f of outcome.gateFailures) {
    const lines = f.uncoveredLines?.length ? `; uncovered lines ${lineRanges(f.uncoveredLines)}` : '';
    log(`coverage gate: ${f.scope} ${f.metric} ${f.actual}% < ${f.wanted}%${lines}`);
  }
  return outcome.gaps.length === 0 && outcome.gateFailures.length === 0;
}
