import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import libCoverage, { type CoverageMap } from 'istanbul-lib-coverage';
import libReport from 'istanbul-lib-report';
import reports from 'istanbul-reports';

/**
 * Written for every service and for all combined; `text` goes to the terminal. `lcovonly`:
 * istanbul's `lcov` would write the html report a second time, beside lcov.info.
 */
export const REPORTERS = ['html', 'lcovonly', 'json-summary', 'json', 'cobertura'] as const;

/**
 * Converts a directory of remapped dumps to an istanbul map through c8 (v8-to-istanbul with the
 * dumps' source maps), so that lines and branches are those of the TypeScript sources.
 */
export async function coverageMapOf(dumpDir: string, projectDir: string): Promise<CoverageMap> {
  // Loaded when a report is made, not with every command of the CLI.
  const { Report } = await import('c8');
  const report = new Report({
    tempDirectory: dumpDir,
    reporter: [],
    src: [projectDir],
    // The dumps hold only the services' own scripts already (remap.ts): no test file runs in a
    // service. c8's eleven default test globs, each compiled by minimatch for every file, cost
    // a tenth of the whole report; these two are what can still appear.
    exclude: ['coverage/**', '**/*.d.ts'],
    excludeNodeModules: true,
    // A bundled service (esbuild, webpack, ncc) is one script whose map names its packages'
    // sources beside its own: they are dropped once mapped back, not by the script's name.
    excludeAfterRemap: true,
    allowExternal: false,
  }) as InstanceType<typeof Report> & { getCoverageMapFromAllCoverageFiles(): Promise<CoverageMap> };
  const map = await report.getCoverageMapFromAllCoverageFiles();
  // c8's map carries its own istanbul-lib-coverage instance; rebuild it on ours.
  return libCoverage.createCoverageMap(JSON.parse(JSON.stringify(map.toJSON())));
}

/** Writes html, lcov, json-summary, json and cobertura into `dir`, and returns the text table. */
export function writeReports(map: CoverageMap, dir: string, projectDir: string): string {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const context = libReport.createContext({ dir, coverageMap: map, defaultSummarizer: 'nested' });
  for (const name of REPORTERS) reports.create(name, { projectRoot: projectDir }).execute(context);
  reports.create('text', { file: 'coverage.txt', maxCols: 120, skipEmpty: false }).execute(context);
  return readFileSync(path.join(dir, 'coverage.txt'), 'utf8');
}

export function combine(maps: CoverageMap[]): CoverageMap {
  const all = libCoverage.createCoverageMap({});
  for (const m of maps) all.merge(m);
  return all;
}
