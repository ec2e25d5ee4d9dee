// `realstack chaos` on the reference stack, in the docker pass of the suite (tests/serial/chaos/notes.test.ts
// runs chaos on the process engine, so CI faults both engines' instances): every scenario a
// steady-state hypothesis held, committed data read back, and the fault's error paths covered.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { realstack, root, testRunId } from '../../helpers/cli.js';
import { dockerPassOnly, passEngines } from '../../helpers/engines.js';
import { leftovers } from '../../helpers/leftovers.js';

const skip = dockerPassOnly();
const scratch = mkdtempSync(path.join(os.tmpdir(), 'realstack-chaos-'));
t.teardown(() => rmSync(scratch, { recursive: true, force: true }));

for (const engine of await passEngines()) {
  t.test(
    `${engine}: kill, pause, db-stop, db-latency, db-drop on the reference stack`,
    { skip },
    async (t) => {
      const runId = testRunId('chaos');
      const out = path.join(scratch, engine);
      const res = await realstack(['chaos'], {
        REALSTACK_ENGINE: engine,
        REALSTACK_RUN_ID: runId,
        REALSTACK_COVERAGE_DIR: path.join(out, 'coverage'),
        REALSTACK_JUNIT_FILE: path.join(out, 'results', 'junit.xml'),
      });
      t.equal(res.exitCode, 0, res.stdout);
      t.match(res.stderr, 'chaos: every hypothesis held');
      t.match(
        res.stderr,
        /chaos proxy: api DATABASE_URL=postgres:\/\/realstack:realstack@(127\.0\.0\.1|host\.docker\.internal):\d+\/realstack/,
      );
      t.match(res.stderr, 'data checked by POST /v1/registers, read back by GET /v1/registers/:id');
      const report = JSON.parse(readFileSync(path.join(out, 'results', 'chaos.json'), 'utf8')) as {
        ok: boolean;
        scenarios: {
          scenario: string;
          ok: boolean;
          checks: { what: string; ok: boolean; detail: string }[];
        }[];
      };
      t.same(
        report.scenarios.map((s) => [s.scenario, s.ok]),
        [
          ['kill', true],
          ['pause', true],
          ['db-stop', true],
          ['db-latency', true],
          ['db-drop', true],
          ['coverage', true],
        ],
      );
      const detail = (scenario: string, what: string | RegExp) =>
        report.scenarios
          .find((s) => s.scenario === scenario)
          ?.checks.find((c) => (typeof what === 'string' ? c.what === what : what.test(c.what)))?.detail;
      t.match(detail('kill', 'api-1 killed mid-load'), /^exit 137/);
      t.match(detail('pause', 'api-1 paused'), 'the engine says paused');
      t.match(detail('db-stop', 'during the outage: 503s, no 500, no dropped request'), /^503: \d+$/);
      t.match(
        detail('db-stop', 'a read of committed data: 503, said why'),
        /^503: \{"error":"temporarily_unavailable"/,
      );
      t.match(detail('db-latency', /^answers wait on the database/), /^p50 \d+ ms/);
      t.match(detail('db-drop', 'open connections dropped'), /^[1-9]\d* connections reset$/);
      for (const s of ['kill', 'pause', 'db-stop', 'db-latency', 'db-drop'])
        t.equal(
          detail(s, 'no committed data lost'),
          '3 of 3 records read back',
          `${s}: no committed data lost`,
        );
      t.match(
        detail('coverage', "api-1: the restarted process's coverage harvested"),
        /1 killed .*, [1-9] with a dump/,
      );
      t.match(
        res.stderr,
        /coverage gap: api-1: process \d+ started .* never reached its exit \(killed/,
        'the killed process is named',
      );

      // The error paths the faults took are in the report: the 503 of a database that cannot answer.
      const final = JSON.parse(
        readFileSync(path.join(out, 'coverage', 'chaos', 'all', 'coverage-final.json'), 'utf8'),
      ) as Record<
        string,
        { statementMap: Record<string, { start: { line: number } }>; s: Record<string, number> }
      >;
      const errors = Object.entries(final).find(([f]) => f.endsWith('services/kit/src/errors.ts'))?.[1];
      const source = readFileSync(path.join(root, 'services/kit/src/errors.ts'), 'utf8').split('\n');
      const line = source.findIndex((l) => l.includes("'temporarily_unavailable',")) + 1;
      const ran = Object.entries(errors?.statementMap ?? {}).some(
        ([id, s]) => s.start.line <= line && line <= s.start.line + 6 && (errors?.s[id] ?? 0) > 0,
      );
      t.ok(ran, `services/kit/src/errors.ts:${line} (the 503) ran in the chaos run`);
      t.same(await leftovers(runId), [], 'nothing of the run is left');
    },
  );
}
