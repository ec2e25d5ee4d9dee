/**
 * How fast the CLI starts, for docs/performance.md: `--help`, `config`, and `ps` without and
 * with a running stack (process engine), each the median of N runs of the real CLI. With
 * `--against DIR`, the same commands of another built checkout, run in turn with this one's
 * (A B A B ...), so a drift of the machine's speed falls on both.
 *
 *   node dist/bench/cli-start.js [--runs N] [--against DIR]
 */
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { median, timedCli } from './measure.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const { values } = parseArgs({
  options: { runs: { type: 'string', default: '9' }, against: { type: 'string' } },
});
const runs = Number(values.runs);
const runId = `bcli${randomBytes(3).toString('hex')}`;
const env = { REALSTACK_ENGINE: 'process', REALSTACK_RUN_ID: runId };

// Every command runs from this checkout's folder, whichever checkout's CLI it is.
const timed = (checkout: string, args: string[], extra: Record<string, string> = {}) =>
  timedCli(checkout, args, { ...env, ...extra }, { cwd: root, anyExit: true });

const checkouts = [root, ...(values.against ? [path.resolve(values.against)] : [])];
const cases: [string, string[], Record<string, string>][] = [
  ['`realstack --help`', ['--help'], {}],
  ['`realstack config`', ['config'], {}],
  ['`realstack ps`, no stack running', ['ps'], { REALSTACK_RUN_ID: `${runId}none` }],
];

function measure(label: string, args: string[], extra: Record<string, string>) {
  const times = checkouts.map(() => [] as number[]);
  for (let i = 0; i < runs + 1; i++)
    for (const [c, checkout] of checkouts.entries()) {
      const ms = timed(checkout, args, extra);
      if (i > 0) times[c]?.push(ms); // the first round warms the file cache
    }
  const [mine, theirs] = times.map((t) => median(t));
  const cells = [`${((mine as number) / 1000).toFixed(2)} s`];
  if (theirs !== undefined)
    cells.push(`${(theirs / 1000).toFixed(2)} s`, ((mine as number) / theirs).toFixed(2));
  process.stdout.write(`| ${label} | ${cells.join(' | ')} |\n`);
}

process.stdout.write(
  values.against
    ? `| command (median of ${runs}) | this checkout | ${values.against} | ratio |\n| --- | --- | --- | --- |\n`
    : `| command (median of ${runs}) | wall time |\n| --- | --- |\n`,
);
for (const [label, args, extra] of cases) measure(label, args, extra);
timedCli(root, ['up'], env);
try {
  measure('`realstack ps`, a stack running (process engine)', ['ps'], {});
} finally {
  timedCli(root, ['down'], env);
}
