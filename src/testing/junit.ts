import type { Counts, TestResult } from '../results/model.js';

// XML 1.0 has no escape for most control characters: they are dropped.
// biome-ignore lint/suspicious/noControlCharactersInRegex: the characters XML cannot hold
const INVALID = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]/g;
const esc = (s: string) =>
  s
    .replace(INVALID, '')
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;');
const seconds = (ms: number | null) => ((ms ?? 0) / 1000).toFixed(3);

function testcase(file: string, t: TestResult): string {
  const open = `    <testcase classname="${esc(file)}" name="${esc(t.name)}" time="${seconds(t.ms)}"`;
  const failures = t.failures.join('\n');
  const cause = t.failureClass
    ? ` (${t.failureClass === 'stack' ? 'the stack changed meanwhile' : 'the test'})`
    : '';
  switch (t.status) {
    case 'passed':
      return `${open}/>`;
    case 'skipped':
      return `${open}>\n      <skipped/>\n    </testcase>`;
    case 'failed':
      return `${open}>\n      <failure message="${esc(t.failures[0] ?? 'failed')}">${esc(failures + cause)}</failure>\n    </testcase>`;
    // Maven Surefire's way of saying "passed on a rerun", which Jenkins and GitLab read.
    case 'flaky':
      return `${open}>\n${t.failures.map((f) => `      <flakyFailure message="${esc(f)}">${esc(f + cause)}</flakyFailure>`).join('\n')}\n    </testcase>`;
    // Still run and reported, but set apart: it fails no run, so CI tools see it as skipped.
    case 'quarantined':
      return `${open}>\n      <skipped message="quarantined: failed, set apart by the flaky-test history"/>\n      <system-err>${esc(failures + cause)}</system-err>\n    </testcase>`;
  }
}

/** The run's results as JUnit XML: a suite per test file, a case per top-level test. */
export function junitXml(counts: Counts): string {
  const suites = counts.files.map((f) => {
    const n = (s: TestResult['status'][]) => f.tests.filter((t) => s.includes(t.status)).length;
    return [
      `  <testsuite name="${esc(f.file)}" tests="${f.tests.length}" failures="${n(['failed'])}" skipped="${n(['skipped', 'quarantined'])}" time="${seconds(f.ms)}">`,
      ...f.tests.map((t) => testcase(f.file, t)),
      '  </testsuite>',
    ].join('\n');
  });
  const total = counts.files.reduce((n, f) => n + f.tests.length, 0);
  const time = counts.files.reduce((n, f) => n + (f.ms ?? 0), 0);
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="realstack" tests="${total}" failures="${counts.failed}" skipped="${counts.skipped + counts.quarantined}" time="${seconds(time)}">`,
    ...suites,
    '</testsuites>',
    '',
  ].join('\n');
}
