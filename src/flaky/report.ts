import { existsSync } from 'node:fs';
import type { ToolkitConfig } from '../config/toolkit.js';
import { writeFileWhole } from '../util/files.js';
import { History, historyFile, type Quarantined, type TestStats } from './history.js';
import { failureRate, keyOf, type Verdict, verdict } from './policy.js';

export interface FlakyRow extends TestStats {
  /** Failing runs over runs, in percent. */
  rate: number;
  verdict: Verdict | 'quarantined';
  quarantine?: Quarantined;
}

export interface FlakinessReport {
  runs: number;
  window: number;
  rows: FlakyRow[];
  quarantined: Quarantined[];
}

/** Every test's recent record, worst first; only those that failed at all unless `all`. */
export async function flakinessReport(config: ToolkitConfig, all = false): Promise<FlakinessReport> {
  const c = config.project.flaky;
  const file = historyFile(config);
  if (!existsSync(file)) return { runs: 0, window: c.window, rows: [], quarantined: [] };
  const h = await History.read(file);
  try {
    const quarantined = h.quarantined();
    const held = new Map(quarantined.map((q) => [keyOf(q), q]));
    const rows = h
      .stats(c.window)
      .filter((s) => all || s.failing > 0 || held.has(keyOf(s)))
      .map((s): FlakyRow => {
        const q = held.get(keyOf(s));
        return {
          ...s,
          rate: failureRate(s),
          verdict: q ? 'quarantined' : verdict(s, c),
          ...(q ? { quarantine: q } : {}),
        };
      })
      .sort((a, b) => b.rate - a.rate || a.file.localeCompare(b.file) || a.test.localeCompare(b.test));
    return { runs: h.runCount(), window: c.window, rows, quarantined };
  } finally {
    h.close();
  }
}

const pct = (n: number) => `${n.toFixed(0)}%`;
const classes = (r: FlakyRow) =>
  r.failing === 0 ? '-' : `${r.stackClass} stack, ${r.failing - r.stackClass} test`;
const lastFailure = (r: FlakyRow) =>
  r.lastFailure
    ? `${r.lastFailure.at.slice(0, 16).replace('T', ' ')} ${r.lastFailure.commit?.slice(0, 8) ?? ''}`.trim()
    : '-';

/** `just flakiness-report`: one line per test. */
export function flakinessTable(report: FlakinessReport): string {
  if (report.runs === 0) return 'no run is recorded yet: the history fills as `just test` runs.';
  const head = `${report.runs} runs recorded; each test's last ${report.window} runs`;
  if (report.rows.length === 0) return `${head}: no test failed in them.`;
  const header = ['verdict', 'rate', 'runs', 'failed', 'flaky', 'class', 'last failure', 'test'];
  const rows = report.rows.map((r) => [
    r.verdict,
    pct(r.rate),
    String(r.runs),
    String(r.failing),
    String(r.flaky),
    classes(r),
    lastFailure(r),
    `${r.file}: ${r.test}`,
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] as string).length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] as number)))
      .join('  ')
      .trimEnd();
  return [`${head}:`, line(header), ...rows.map(line)].join('\n');
}

const esc = (s: string) =>
  s.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;').replaceAll('"', '&quot;');

/** The same as a page (beside the JUnit file): each test with its last failure's message. */
export function writeFlakinessHtml(file: string, report: FlakinessReport): string {
  const rows = report.rows
    .map(
      (r) =>
        `<tr class="${r.verdict}"><td>${r.verdict}</td><td>${pct(r.rate)}</td><td>${r.runs}</td><td>${r.failing}</td><td>${r.flaky}</td><td>${classes(r)}</td><td>${esc(lastFailure(r))}</td><td><b>${esc(r.file)}</b>: ${esc(r.test)}${r.lastFailure?.failure ? `<pre>${esc(r.lastFailure.failure)}</pre>` : ''}${r.quarantine ? `<p>quarantined since ${esc(r.quarantine.since)}: ${esc(r.quarantine.reason)}</p>` : ''}</td></tr>`,
    )
    .join('\n');
  writeFileWhole(
    file,
    `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Flaky tests</title>
<style>body{font:14px system-ui,sans-serif;margin:2em}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:4px 8px;text-align:left;vertical-align:top}
pre{white-space:pre-wrap;margin:4px 0;color:#555}.quarantined{background:#fde2e2}.broken{background:#fbd0d0}.flaky,.quarantine{background:#fff4d6}</style></head>
<body><h1>Flaky tests</h1><p>${report.runs} runs recorded; each test's last ${report.window} runs. Class: whether the stack changed (a service exited, restarted or went unhealthy) while a failing attempt ran.</p>
<table><tr><th>verdict</th><th>rate</th><th>runs</th><th>failed</th><th>flaky</th><th>class</th><th>last failure</th><th>test</th></tr>
${rows || '<tr><td colspan="8">no test failed in these runs</td></tr>'}
</table></body></html>
`,
  );
  return file;
}
