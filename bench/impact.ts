/**
 * Test impact figures for docs/performance.md, on a scratch copy (process engine, this
 * checkout's node_modules linked, never its working tree):
 *   --stack notes      examples/notes, realstack linked in as a package;
 *   --stack reference  this repository's HEAD, its parallel-safe set (the files that test the
 *                      shared stack and the toolkit; the serial ones start stacks of their own).
 * Figures:
 *   - recording cost: `test-coverage` with one job against `test-coverage --per-test`, rounds
 *     alternated, and the slices' size;
 *   - selection safety: the faults of bench/faults/<stack>.json planted one at a time into the
 *     clean tree; for each the selection (`test-impact`) runs, and the whole set too where the
 *     selection passed (what the selection catches, the set it is part of catches). Recall is
 *     faults caught by the selection over faults caught by the whole set; the share is the part
 *     of the set's recorded time the selection needed.
 *
 *   node dist/bench/impact.js [--stack notes|reference] [--rounds N] [--faults N]
 */
import { spawnSync } from 'node:child_process';
import {
  cpSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { median } from './measure.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const { values } = parseArgs({
  options: {
    stack: { type: 'string', default: 'notes' },
    rounds: { type: 'string', default: '3' },
    faults: { type: 'string', default: '1000' },
  },
});
const reference = values.stack === 'reference';
if (!reference && values.stack !== 'notes') throw new Error('--stack notes or --stack reference');

interface Fault {
  file: string;
  from: string;
  to: string;
  kind: string;
}
const faults = (
  JSON.parse(readFileSync(path.join(root, 'bench', 'faults', `${values.stack}.json`), 'utf8')) as Fault[]
).slice(0, Number(values.faults));

const work = mkdtempSync(path.join(os.tmpdir(), 'realstack-bench-impact-'));
const project = path.join(work, 'project');
process.on('exit', () => rmSync(work, { recursive: true, force: true }));
const gatesOff = path.join(work, 'no-gates.json');
writeFileSync(gatesOff, '{}\n');

function sh(command: string, args: string[]) {
  const start = performance.now();
  const res = spawnSync(command, args, {
    cwd: project,
    encoding: 'utf8',
    maxBuffer: 256 * 1024 * 1024,
    // The set's own gates are for the whole suite, not for a part of it.
    env: {
      ...process.env,
      REALSTACK_ENGINE: 'process',
      NODE_OPTIONS: '',
      REALSTACK_COVERAGE_CONFIG: gatesOff,
    },
  });
  return { ...res, ms: performance.now() - start };
}
// This repository is realstack itself; the example has it installed.
const cli = reference
  ? path.join(project, 'bin', 'realstack.js')
  : path.join(project, 'node_modules', '.bin', 'realstack');
const realstack = (args: string[]) => sh(process.execPath, [cli, ...args]);
const git = (args: string[]) =>
  sh('git', ['-c', 'user.name=bench', '-c', 'user.email=bench@localhost', ...args]);

/** node_modules of this checkout, linked entry by entry; the workspaces (and realstack) to the copy's own. */
function linkModules(own: Record<string, string>) {
  const modules = path.join(project, 'node_modules');
  mkdirSync(modules, { recursive: true });
  cpSync(path.join(root, 'node_modules', '.bin'), path.join(modules, '.bin'), {
    recursive: true,
    verbatimSymlinks: true,
  });
  for (const entry of readdirSync(path.join(root, 'node_modules')))
    if (entry !== '.bin' && !Object.keys(own).some((o) => o.startsWith(`${entry}/`) || o === entry))
      symlinkSync(path.join(root, 'node_modules', entry), path.join(modules, entry));
  for (const [name, target] of Object.entries(own)) {
    mkdirSync(path.dirname(path.join(modules, name)), { recursive: true });
    rmSync(path.join(modules, name), { force: true, recursive: true });
    symlinkSync(target, path.join(modules, name));
  }
}

let setArgs: string[] = [];
if (reference) {
  const clone = spawnSync('git', ['clone', '-q', root, project]);
  if (clone.status !== 0) throw new Error(`git clone: ${clone.stderr}`);
  // Its own node_modules, as CI's: linked ones would name this checkout's paths in the source maps.
  const install = sh('npm', ['ci', '--no-audit', '--no-fund', '--prefer-offline']);
  if (install.status !== 0) throw new Error(`npm ci failed:\n${install.stderr}`);
  if (sh('npm', ['run', 'build']).status !== 0) throw new Error('npm run build failed');
  setArgs = ['--set', 'parallel-safe'];
} else {
  cpSync(path.join(root, 'examples', 'notes'), project, { recursive: true });
  linkModules({ realstack: root, '.bin/realstack': path.join(root, 'bin', 'realstack.js') });
  if (realstack(['init']).status !== 0) throw new Error('init failed');
  writeFileSync(
    path.join(project, '.gitignore'),
    `node_modules/\n${readFileSync(path.join(project, '.gitignore'), 'utf8')}`,
  );
  git(['init', '-q']);
  git(['add', '-A']);
  git(['commit', '-qm', 'notes']);
}
const files = realstack(['test', ...setArgs, '--list'])
  .stdout.trim()
  .split('\n');

const fmt = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
const rounds = Number(values.rounds);
const plain: number[] = [];
const recorded: number[] = [];
let lastRecording = '';
for (let i = 0; i < rounds; i++) {
  const a = realstack(['test-coverage', '--jobs', '1', ...files]);
  if (a.status !== 0)
    throw new Error(`test-coverage failed:\n${a.stderr.slice(-3000)}\n${a.stdout.slice(-3000)}`);
  plain.push(a.ms);
  const b = realstack(['test-coverage', '--per-test', ...files]);
  if (b.status !== 0) throw new Error(`test-coverage --per-test failed:\n${b.stderr.slice(-3000)}`);
  recorded.push(b.ms);
  lastRecording = b.stderr;
}
const slicesDir = path.join(project, 'coverage', 'slices');
const slices = readdirSync(slicesDir).filter((f) => f.startsWith('slice-'));
const sliceBytes = slices.reduce((n, f) => n + statSync(path.join(slicesDir, f)).size, 0);
const mapFile = path.join(project, '.realstack', 'impact-map.json');
const tests = Object.keys(JSON.parse(readFileSync(mapFile, 'utf8')).tests).length;
const build = /impact map: .*\((\d+\.\d+) s\)/.exec(lastRecording);
console.log(
  `recording (${rounds} rounds, medians): test-coverage --jobs 1 ${fmt(median(plain))}, --per-test ${fmt(median(recorded))}, ratio ${(median(recorded) / median(plain)).toFixed(2)}`,
);
console.log(
  `slices: ${slices.length} for ${tests} test files and the start, ${(sliceBytes / 1024).toFixed(1)} KiB in all, ${(sliceBytes / 1024 / slices.length).toFixed(1)} KiB each; map ${(statSync(mapFile).size / 1024).toFixed(1)} KiB${build ? `, built in ${build[1]} s` : ''}`,
);

let caughtBySuite = 0;
let caughtBySelection = 0;
const shares: number[] = [];
for (const { file, from, to, kind } of faults) {
  git(['checkout', '-q', '.']);
  const text = readFileSync(path.join(project, file), 'utf8');
  if (!text.includes(from)) throw new Error(`fault ${kind} in ${file}: no ${JSON.stringify(from)}`);
  writeFileSync(path.join(project, file), text.replace(from, to));
  const selection = realstack(['test-impact', ...setArgs]);
  const everything = /every test runs/.test(selection.stderr);
  const share = everything
    ? 1
    : Number(/(\d+)% of the suite's recorded time/.exec(selection.stderr)?.[1] ?? 0) / 100;
  const selectedCaught = selection.status !== 0;
  // The selection is part of the suite: what it caught, the suite catches, and when it ran every
  // test it was the suite. Only a fault it let through needs the whole suite run to say whether
  // the suite would have caught it.
  const suiteCaught =
    selectedCaught || everything
      ? selectedCaught
      : realstack(['test', ...setArgs, '--jobs', '2']).status !== 0;
  if (suiteCaught) {
    caughtBySuite++;
    shares.push(share);
    if (selectedCaught) caughtBySelection++;
  }
  console.log(
    `${path.basename(file).padEnd(22)} ${kind.padEnd(18)} suite ${suiteCaught ? 'caught' : 'missed'}  selection ${selectedCaught ? 'caught' : 'missed'}  ${everything ? 'every test' : `${Math.round(share * 100)}% of the time`}`,
  );
}
git(['checkout', '-q', '.']);
const mean = shares.reduce((a, b) => a + b, 0) / Math.max(1, shares.length);
console.log(
  `recall: ${caughtBySelection} of ${caughtBySuite} faults the suite caught (${((caughtBySelection / Math.max(1, caughtBySuite)) * 100).toFixed(0)}%); the selection needed ${(mean * 100).toFixed(0)}% of the suite's time on average for those`,
);
