// `realstack perf` (src/perf/): bounded load profiles against a real service, baselines and the
// regression gate, and --against another commit measured in the same run. No wall-clock time is
// asserted: the gate is checked against baselines far from any real figure, and --against
// against a change that adds a 100 ms sleep to every answer.
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { hasStackTrace, testRunId } from './helpers/cli.js';
import { processPassOnly } from './helpers/engines.js';
import { leftovers } from './helpers/leftovers.js';
import { linkedProject, tinyCompose, tinyService } from './helpers/project.js';

const skip = processPassOnly();
const runId = testRunId('prf');
const config = {
  perf: {
    rounds: 2,
    token: 'node token.cjs',
    profiles: {
      home: { service: 'web', path: '/', connections: 4, requests: 40 },
      private: { service: 'web', path: '/private', auth: true, connections: 2, requests: 300 },
      missing: { service: 'web', path: '/missing', connections: 1, requests: 50 },
    },
  },
};
const { dir, realstack } = linkedProject(
  t,
  {
    'docker-compose.yml': tinyCompose,
    'server.cjs':
      tinyService(`    if (req.url === '/missing' || (req.url === '/private' && req.headers.authorization !== 'Bearer secret-' + process.env.PORT)) {
      res.writeHead(req.url === '/missing' ? 404 : 401);
      return res.end(req.url === '/missing' ? 'no such page' : 'who are you?');
    }
`),
    // A token as a login would give it: it depends on the stack it is asked of (its URL).
    'token.cjs': "console.log('secret-' + new URL(process.env.REALSTACK_WEB_URL).port);\n",
    'package.json': '{"name": "perf-project", "private": true}\n',
    'realstack.json': `${JSON.stringify(config, null, 2)}\n`,
  },
  runId,
);
t.teardown(async () => {
  await realstack(['down']);
});
const baselines = path.join(dir, 'perf', 'baselines');
const rows = (stdout: string, profile: string) =>
  stdout.split('\n').filter((l) => l.startsWith(`${profile} `));

t.test('a profile that answers non-2xx fails, naming what it answered', { skip }, async (t) => {
  const res = await realstack(['perf', 'missing']);
  t.equal(res.exitCode, 1);
  t.match(res.stdout, /^missing\s+answers\s+\d+ of \d+ not 2xx\s.*FAIL \(404: \d+\)$/m);
  t.match(res.stderr, 'GET http://127.0.0.1:');
  t.match(res.stderr, '/missing answered 404: no such page');
  t.notOk(hasStackTrace(res.stderr));
});

t.test(
  'without a baseline the figures are measured and shown, and --update-baseline records them',
  { skip },
  async (t) => {
    const res = await realstack(['perf', 'home', 'private']);
    t.equal(res.exitCode, 0, res.stderr);
    t.match(
      res.stderr,
      /round 2\/2 private: p50 [\d.]+ ms, p95 [\d.]+ ms, p99 [\d.]+ ms, \d+ req\/s\n/,
      'the token was sent',
    );
    t.equal(rows(res.stdout, 'home').length, 4, 'p50, p95, p99, throughput');
    t.match(rows(res.stdout, 'home')[0], /^home\s+p50\s+[\d.]+ ms\s+-\s+-\s+-\s+±[\d.]+%\s+no baseline$/);
    t.match(
      res.stderr,
      'no baseline for home, private: `just perf --update-baseline` records one in perf/baselines/',
    );
    const json = JSON.parse(readFileSync(path.join(dir, 'test-results', 'perf.json'), 'utf8'));
    t.match(json, { mode: 'baseline', rounds: 2, ok: true });
    t.equal(json.profiles[0].failedRequests.failed, 0);
    t.ok(json.profiles[0].median.p95 >= json.profiles[0].median.p50, 'p95 at least p50');

    const rec = await realstack(['perf', '--update-baseline', 'home']);
    t.equal(rec.exitCode, 0, rec.stderr);
    t.match(rec.stderr, 'baseline: perf/baselines/home.json');
    const b = JSON.parse(readFileSync(path.join(baselines, 'home.json'), 'utf8'));
    t.match(b, { profile: 'home', engine: 'process', rounds: 2, commit: null, machine: { cpus: Number } });
    t.ok(b.median.p50 > 0 && b.median.rps > 0);
  },
);

t.test(
  'the gate: latencies may grow and throughput drop by their thresholds, no more',
  { skip },
  async (t) => {
    const baseline = (median: Record<string, number>) =>
      writeFileSync(
        path.join(baselines, 'home.json'),
        JSON.stringify({ ...JSON.parse(readFileSync(path.join(baselines, 'home.json'), 'utf8')), median }),
      );
    // A baseline no real service can have met: everything now is a regression.
    baseline({ p50: 0.0001, p95: 0.0001, p99: 0.0001, rps: 1e9 });
    const worse = await realstack(['perf', 'home']);
    t.equal(worse.exitCode, 1);
    t.match(
      rows(worse.stdout, 'home')[0],
      /^home\s+p50\s+[\d.]+ ms\s+0\.00 ms\s+\+[\d.]+%\s+10%\s+±[\d.]+%\s+FAIL$/,
    );
    t.match(
      rows(worse.stdout, 'home')[3],
      /^home\s+throughput\s+\d+ req\/s\s+1000000000 req\/s\s+-\d+\.\d%\s+5%\s+.*FAIL$/,
    );
    t.match(worse.stderr, 'performance: a regression past the thresholds');
    // One every figure beats by far.
    baseline({ p50: 1e6, p95: 1e6, p99: 1e6, rps: 1 });
    const better = await realstack(['perf', 'home']);
    t.equal(better.exitCode, 0, better.stdout);
    t.ok(
      rows(better.stdout, 'home').every((r) => r.endsWith(' ok')),
      better.stdout,
    );
    t.match(better.stderr, 'performance: within the thresholds');
  },
);

t.test('bad input is named, not a stack trace', { skip }, async (t) => {
  const unknown = await realstack(['perf', 'nope']);
  t.equal(unknown.exitCode, 2);
  t.match(unknown.stderr, 'no load profile "nope"; the profiles are home, private, missing.');
  const rounds = await realstack(['perf', '--rounds', '0']);
  t.equal(rounds.exitCode, 2);
  t.match(rounds.stderr, '--rounds 0: give a whole number from 1 to 50.');
  const notGit = await realstack(['perf', 'home', '--against', 'HEAD']);
  t.equal(notGit.exitCode, 2);
  t.match(notGit.stderr, '--against compares with another commit: this project is not a git repository.');
  const file = path.join(dir, 'realstack.json');
  const good = readFileSync(file, 'utf8');
  writeFileSync(
    file,
    JSON.stringify({ perf: { profiles: { huge: { service: 'web', path: '/', requests: 1e7 } } } }),
  );
  const unbounded = await realstack(['perf']);
  t.equal(unbounded.exitCode, 1);
  t.match(
    unbounded.stderr,
    'realstack.json: perf.profiles.huge.requests must be a number of requests from 1 to 100000.',
  );
  writeFileSync(
    file,
    JSON.stringify({ perf: { profiles: { p: { service: 'web', path: '/', auth: true } } } }),
  );
  const noToken = await realstack(['perf']);
  t.match(noToken.stderr, 'perf.token is missing: a profile has "auth": true');
  writeFileSync(file, good);
  for (const r of [unknown, rounds, notGit, unbounded, noToken]) t.notOk(hasStackTrace(r.stderr));
});

t.test(
  '--against REF: both stacks side by side, rounds alternating, the gate on their ratio',
  { skip },
  async (t) => {
    const git = (...args: string[]) =>
      execFileSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@localhost', ...args], { cwd: dir });
    writeFileSync(path.join(dir, '.gitignore'), 'node_modules/\n.realstack/\ntest-results/\n');
    git('init', '-q');
    git('add', '-A');
    git('commit', '-qm', 'fast');
    const fast = readFileSync(path.join(dir, 'server.cjs'), 'utf8');
    // This checkout answers 100 ms later than the commit: the stack must start from it again.
    writeFileSync(
      path.join(dir, 'server.cjs'),
      fast.replace(
        'http\n  .createServer((req, res) => {',
        'http\n  .createServer(async (req, res) => {\n    await new Promise((r) => setTimeout(r, 100));',
      ),
    );
    await realstack(['down']);
    const slower = await realstack(['perf', 'home', '--against', 'HEAD']);
    t.equal(slower.exitCode, 1, slower.stderr);
    t.match(
      slower.stderr,
      /round 1\/2 home \(current\)[^\n]*\n\s+round 1\/2 home \(HEAD\)[\s\S]*round 2\/2 home \(HEAD\)[^\n]*\n\s+round 2\/2 home \(current\)/,
      'rounds alternate who goes first',
    );
    t.match(
      rows(slower.stdout, 'home')[0],
      /^home\s+p50\s+1\d\d\.\d\d ms\s+[\d.]+ ms\s+\+\d{3,}\.\d%\s+10%\s+.*FAIL$/,
    );
    t.match(JSON.parse(readFileSync(path.join(dir, 'test-results', 'perf.json'), 'utf8')), {
      mode: 'against',
      ref: 'HEAD',
      ok: false,
    });

    git('commit', '-qam', 'slow');
    writeFileSync(path.join(dir, 'server.cjs'), fast);
    await realstack(['down']);
    const faster = await realstack(['perf', 'home', '--against', 'HEAD']);
    t.equal(faster.exitCode, 0, faster.stdout);
    t.match(
      rows(faster.stdout, 'home')[0],
      /^home\s+p50\s+[\d.]+ ms\s+1\d\d\.\d\d ms\s+-\d\d\.\d%\s+10%\s+.*ok$/,
    );
    t.equal(git('worktree', 'list').toString().trim().split('\n').length, 1, 'the worktree is gone');
  },
);

t.test('nothing of the runs is left', { skip }, async (t) => {
  await realstack(['down']);
  t.same(await leftovers(runId, [], dir), []);
});
