import { existsSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { writeFileWhole } from '../util/files.js';
import { fromRanges } from './blocks.js';
import type { ImpactMap } from './map.js';

const html = (s: string) =>
  s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c] as string);

const page = (title: string, body: string) =>
  `<!doctype html><meta charset="utf-8"><title>${html(title)}</title>
<style>
body{font:14px system-ui,sans-serif;margin:1.5em}table{border-collapse:collapse}
td{padding:0 .6em;vertical-align:top}pre{margin:0;font:13px ui-monospace,monospace}
tr.ran td.n{background:#d7f5d7}tr.startup td.n{background:#e8e8f8}td.n{text-align:right;color:#555}
details{font-size:12px}summary{cursor:pointer;color:#336}
</style><h1>${html(title)}</h1>${body}`;

/**
 * coverage/who/: each service file the map knows, line by line, with the tests that ran each
 * line (coverage.py's contexts, for the running services). Written with every recording.
 */
export function writeWhoReport(map: ImpactMap, projectDir: string, coverageDir: string): string {
  const dir = path.join(coverageDir, 'who');
  rmSync(dir, { recursive: true, force: true });
  const files = Object.keys(map.sources).sort();
  const pageOf = (file: string) => `${file.replaceAll('/', '__')}.html`;
  const rows: string[] = [];
  for (const file of files) {
    const source = path.join(projectDir, file);
    if (!existsSync(source)) continue;
    const byLine = new Map<number, string[]>();
    for (const [test, run] of Object.entries(map.tests))
      for (const l of fromRanges(run.files[file]?.lines ?? ''))
        byLine.set(l, [...(byLine.get(l) ?? []), test]);
    const startup = new Set(fromRanges(map.startup[file]?.lines ?? ''));
    const lines = readFileSync(source, 'utf8').split('\n');
    const body = lines.map((text, i) => {
      const tests = byLine.get(i + 1) ?? [];
      const cls = tests.length > 0 ? 'ran' : startup.has(i + 1) ? 'startup' : '';
      const who =
        tests.length > 0
          ? `<details><summary>${tests.length} test${tests.length === 1 ? '' : 's'}</summary>${tests.map(html).join('<br>')}</details>`
          : startup.has(i + 1)
            ? 'start-up'
            : '';
      return `<tr class="${cls}"><td class="n">${i + 1}</td><td><pre>${html(text)}</pre></td><td>${who}</td></tr>`;
    });
    writeFileWhole(
      path.join(dir, pageOf(file)),
      page(file, `<p><a href="index.html">all files</a></p><table>${body.join('\n')}</table>`),
    );
    const tests = new Set([...byLine.values()].flat());
    rows.push(`<tr><td><a href="${pageOf(file)}">${html(file)}</a></td><td>${tests.size} tests</td></tr>`);
  }
  const when = `recorded ${html(map.recordedAt)} at ${html(map.commit?.slice(0, 8) ?? 'no commit')} on ${html(map.engine)}`;
  writeFileWhole(
    path.join(dir, 'index.html'),
    page('Who ran each line', `<p>${when}</p><table>${rows.join('\n')}</table>`),
  );
  return dir;
}
