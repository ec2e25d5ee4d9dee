/**
 * Test impact figures for docs/performance.md, on a scratch copy of examples/notes (process
 * engine, realstack linked from this checkout):
 *   - recording cost: `test-coverage --per-test` against `test-coverage --jobs 1`, rounds
 *     alternated, and the slices' size;
 *   - selection safety: faults planted one at a time (each a string replacement in a service
 *     file); for each, the whole suite and the selected set (`test-impact`) really run. Recall
 *     is faults caught by the selection over faults caught by the suite; the share is the
 *     part of the suite's recorded time the selection needed.
 *
 *   node dist/bench/impact.js [--rounds N] [--faults N]
 */
import { spawnSync } from 'node:child_process';
import {
  cpSync,
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
  options: { rounds: { type: 'string', default: '3' }, faults: { type: 'string', default: '100' } },
});

/** [file, text, replacement, what kind of fault]. */
const FAULTS: [string, string, string, string][] = [
  ['src/server.js', 'note.title.length > 16', 'note.title.length > 17', 'off-by-one bound'],
  ['src/server.js', 'note.title.length === 0', 'note.title.length === 1', 'off-by-one bound'],
  ['src/server.js', "typeof note.body !== 'string'", "typeof note.body === 'string'", 'flipped condition'],
  ['src/server.js', 'return send(res, 201, rows[0]);', 'return send(res, 200, rows[0]);', 'wrong status'],
  [
    'src/server.js',
    'rows[0] ? send(res, 200, rows[0]) : send(res, 404',
    'rows[0] ? send(res, 200, rows[0]) : send(res, 400',
    'wrong status',
  ],
  ['src/server.js', 'rowCount ? send(res, 204, {})', 'rowCount ? send(res, 200, {})', 'wrong status'],
  [
    'src/server.js',
    'rowCount ? send(res, 204, {}) : send(res, 404',
    'rowCount ? send(res, 204, {}) : send(res, 400',
    'wrong status',
  ],
  ['src/server.js', 'send(res, 404, { error: `no route', 'send(res, 400, { error: `no route', 'wrong status'],
  ['src/server.js', 'ORDER BY id', 'ORDER BY id DESC LIMIT 1', 'wrong query'],
  [
    'src/server.js',
    "FROM notes WHERE id = $1', [id]);\n    return rows[0]",
    "FROM notes WHERE id <> $1', [id]);\n    return rows[0]",
    'flipped condition',
  ],
  ['src/server.js', 'const words = await countWords(note.body);', 'const words = 0;', 'dropped statement'],
  [
    'src/server.js',
    "if (req.method === 'GET' && url.pathname === '/notes')",
    "if (req.method === 'PUT' && url.pathname === '/notes')",
    'flipped condition',
  ],
  ['src/server.js', '/^\\/notes\\/(\\d+)$/', '/^\\/notes\\/(\\d)$/', 'off-by-one bound'],
  ['src/server.js', 'pending.get(id)?.(words);', 'pending.get(id)?.(words + 1);', 'off-by-one value'],
  ['src/server.js', 'const id = nextId++;', 'const id = nextId;', 'dropped statement'],
  [
    'src/server.js',
    "if (id && req.method === 'DELETE')",
    "if (id && req.method === 'PUT')",
    'flipped condition',
  ],
  [
    'src/server.js',
    'return rowCount ? send(res, 204',
    'return !rowCount ? send(res, 204',
    'flipped condition',
  ],
  [
    'src/server.js',
    "res.writeHead(status, { 'content-type': 'application/json' });",
    "res.writeHead(status, { 'content-type': 'text/plain' });",
    'wrong header',
  ],
  ['src/server.js', '    return undefined;\n', '    return {};\n', 'wrong value'],
  ['src/server.js', 'pending.delete(id);', '', 'dropped statement'],
  [
    'src/worker.js',
    'note.body.slice(0, 40).toUpperCase()',
    'note.body.slice(0, 40).toLowerCase()',
    'wrong value',
  ],
  [
    'src/worker.js',
    'WHERE summarized_at IS NULL LIMIT 10',
    'WHERE summarized_at IS NOT NULL LIMIT 10',
    'flipped condition',
  ],
  ['src/worker.js', 'note.body.slice(0, 40)', 'note.body.slice(1, 40)', 'off-by-one bound'],
  ['src/worker.js', 'return rows.length;', 'return 0;', 'wrong value'],
  ['src/worker.js', 'if (done > 0) console.log', 'if (done > 1) console.log', 'off-by-one bound'],
  ['src/count-worker.js', '.filter(Boolean).length', '.filter(Boolean).length + 1', 'off-by-one value'],
  ['src/count-worker.js', 'text.split(/\\s+/)', "text.split('')", 'wrong value'],
  ['src/db.js', 'max: 5', 'max: 1', 'wrong value'],
  ['src/db.js', 'if (i >= attempts) throw err;', 'if (i > attempts) throw err;', 'off-by-one bound'],
  [
    'src/server.js',
    "await db.query('SELECT 1');\n    return send(res, 200",
    'return send(res, 200',
    'dropped statement',
  ],
  [
    'src/server.js',
    "{ error: 'title must be 1 to 16 characters' }",
    "{ error: 'title too long' }",
    'wrong value',
  ],
];

const work = mkdtempSync(path.join(os.tmpdir(), 'realstack-bench-impact-'));
const project = path.join(work, 'notes');
process.on('exit', () => rmSync(work, { recursive: true, force: true }));

function sh(command: string, args: string[]) {
  const start = performance.now();
  const res = spawnSync(command, args, {
    cwd: project,
    encoding: 'utf8',
    env: { ...process.env, REALSTACK_ENGINE: 'process', NODE_OPTIONS: '' },
  });
  return { ...res, ms: performance.now() - start };
}
const realstack = (args: string[]) => sh(path.join(project, 'node_modules', '.bin', 'realstack'), args);
const git = (args: string[]) =>
  sh('git', ['-c', 'user.name=bench', '-c', 'user.email=bench@localhost', ...args]);

// The example with realstack and its dependencies linked from this checkout.
cpSync(path.join(root, 'examples', 'notes'), project, { recursive: true });
const modules = path.join(project, 'node_modules');
cpSync(path.join(root, 'node_modules', '.bin'), path.join(modules, '.bin'), {
  recursive: true,
  verbatimSymlinks: true,
});
for (const entry of readdirSync(path.join(root, 'node_modules')))
  if (entry !== '.bin') symlinkSync(path.join(root, 'node_modules', entry), path.join(modules, entry));
symlinkSync(root, path.join(modules, 'realstack'));
rmSync(path.join(modules, '.bin', 'realstack'), { force: true });
symlinkSync(path.join(root, 'bin', 'realstack.js'), path.join(modules, '.bin', 'realstack'));
if (realstack(['init']).status !== 0) throw new Error('init failed');
writeFileSync(
  path.join(project, '.gitignore'),
  `node_modules/\n${readFileSync(path.join(project, '.gitignore'), 'utf8')}`,
);
git(['init', '-q']);
git(['add', '-A']);
git(['commit', '-qm', 'notes']);

const fmt = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
const rounds = Number(values.rounds);
const plain: number[] = [];
const recorded: number[] = [];
let lastRecording = '';
for (let i = 0; i < rounds; i++) {
  const a = realstack(['test-coverage', '--jobs', '1']);
  if (a.status !== 0) throw new Error(`test-coverage failed:\n${a.stderr}`);
  plain.push(a.ms);
  const b = realstack(['test-coverage', '--per-test']);
  if (b.status !== 0) throw new Error(`test-coverage --per-test failed:\n${b.stderr}`);
  recorded.push(b.ms);
  lastRecording = b.stderr;
}
const slicesDir = path.join(project, 'coverage', 'slices');
const slices = readdirSync(slicesDir).filter((f) => f.startsWith('slice-'));
const sliceBytes = slices.reduce((n, f) => n + statSync(path.join(slicesDir, f)).size, 0);
const map = JSON.parse(readFileSync(path.join(project, '.realstack', 'impact-map.json'), 'utf8'));
const tests = Object.keys(map.tests).length;
const build = /impact map: .*\((\d+\.\d+) s\)/.exec(lastRecording);
console.log(
  `recording (${rounds} rounds, medians): test-coverage --jobs 1 ${fmt(median(plain))}, --per-test ${fmt(median(recorded))}, ratio ${(median(recorded) / median(plain)).toFixed(2)}`,
);
console.log(
  `slices: ${slices.length} for ${tests} test files and the start, ${(sliceBytes / 1024).toFixed(1)} KiB in all, ${(sliceBytes / 1024 / slices.length).toFixed(1)} KiB each; map ${(statSync(path.join(project, '.realstack', 'impact-map.json')).size / 1024).toFixed(1)} KiB${build ? `, built in ${build[1]} s` : ''}`,
);

let caughtBySuite = 0;
let caughtBySelection = 0;
const shares: number[] = [];
for (const [file, from, to, kind] of FAULTS.slice(0, Number(values.faults))) {
  git(['checkout', '-q', '.']);
  const text = readFileSync(path.join(project, file), 'utf8');
  if (!text.includes(from)) throw new Error(`fault ${kind} in ${file}: no ${JSON.stringify(from)}`);
  writeFileSync(path.join(project, file), text.replace(from, to));
  const suite = realstack(['test']);
  const selection = realstack(['test-impact']);
  const everything = /every test runs/.test(selection.stderr);
  const share = everything
    ? 1
    : Number(/(\d+)% of the suite's recorded time/.exec(selection.stderr)?.[1] ?? 0) / 100;
  const suiteCaught = suite.status !== 0;
  const selectedCaught = selection.status !== 0;
  if (suiteCaught) {
    caughtBySuite++;
    shares.push(share);
    if (selectedCaught) caughtBySelection++;
  }
  console.log(
    `${file.padEnd(20)} ${kind.padEnd(18)} suite ${suiteCaught ? 'caught' : 'missed'}  selection ${selectedCaught ? 'caught' : 'missed'}  ${everything ? 'every test' : `${Math.round(share * 100)}% of the time`}`,
  );
}
git(['checkout', '-q', '.']);
const mean = shares.reduce((a, b) => a + b, 0) / Math.max(1, shares.length);
console.log(
  `recall: ${caughtBySelection} of ${caughtBySuite} faults the suite caught (${((caughtBySelection / Math.max(1, caughtBySuite)) * 100).toFixed(0)}%); the selection needed ${(mean * 100).toFixed(0)}% of the suite's time on average for those`,
);
