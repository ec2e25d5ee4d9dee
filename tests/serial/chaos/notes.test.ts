// `realstack chaos` on a stack it was not written for (examples/notes, process engine): the
// faults the service survives pass, and the one it does not is found and named. The notes web
// service has no handler for a lost database connection: when PostgreSQL stops, it exits.
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { root, run, testRunId } from '../../helpers/cli.js';
import { processPassOnly } from '../../helpers/engines.js';
import { leftovers } from '../../helpers/leftovers.js';

const work = mkdtempSync(path.join(os.tmpdir(), 'realstack-chaos-notes-'));
t.teardown(() => rmSync(work, { recursive: true, force: true }));
const project = path.join(work, 'notes');
cpSync(path.join(root, 'examples', 'notes'), project, {
  recursive: true,
  filter: (src) => !/node_modules|coverage|\.realstack/.test(src),
});
mkdirSync(path.join(project, 'node_modules'));
for (const m of ['pg', 'tap'])
  symlinkSync(path.join(root, 'node_modules', m), path.join(project, 'node_modules', m));
symlinkSync(root, path.join(project, 'node_modules', 'realstack'));
const runId = testRunId('chn');
const realstack = (args: string[]) =>
  run(process.execPath, [path.join(root, 'bin', 'realstack.js'), ...args], {
    cwd: project,
    env: {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      REALSTACK_ENGINE: 'process',
      REALSTACK_RUN_ID: runId,
    },
    extendEnv: false,
  });

// The process engine's pass runs it: this test is about what chaos finds, not about an engine.
const skip = processPassOnly();

t.test(
  'init, then chaos: kill and pause held; PostgreSQL stopped took the web service down, and chaos says so',
  { skip },
  async (t) => {
    t.equal((await realstack(['init'])).exitCode, 0);
    const res = await realstack(['chaos', 'kill', 'pause', 'db-stop']);
    t.equal(res.exitCode, 1, 'a hypothesis failed');
    t.match(res.stderr, /chaos: faults at web-1 and its database db; data checked by SQL on the database/);
    t.match(res.stderr, /chaos proxy: web DB_HOST=127\.0\.0\.1/);
    t.match(res.stderr, 'chaos failed: db-stop');
    const report = JSON.parse(readFileSync(path.join(project, 'test-results', 'chaos.json'), 'utf8')) as {
      scenarios: { scenario: string; ok: boolean; checks: { what: string; ok: boolean; detail: string }[] }[];
    };
    t.same(
      report.scenarios.map((s) => [s.scenario, s.ok]),
      [
        ['kill', true],
        ['pause', true],
        ['db-stop', false],
        ['coverage', true],
      ],
    );
    const stop = report.scenarios.find((s) => s.scenario === 'db-stop')?.checks ?? [];
    t.match(
      stop.find((c) => c.what === 'web-1 kept running, not restarted'),
      { ok: false, detail: /^exited \(exit 1\)/ },
    );
    t.match(
      stop.find((c) => c.what === 'healthy again'),
      { ok: false, detail: 'web-1 exited with code 1 while starting' },
    );
    t.match(res.stdout, /^db-stop\s+FAIL$/m);
    t.match(res.stdout, /^ {2}FAIL {2}web-1 kept running, not restarted: exited \(exit 1\)/m);
    t.same(await leftovers(runId, [], project), [], 'nothing of the run is left');
  },
);
