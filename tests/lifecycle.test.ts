// `realstack scale` and `restart` on a running reference stack, on the engine this pass of the
// suite runs on: instances added and retired under a bounded load that loses no request, a
// rolling restart with none failed, a restart all at once whose downtime the load counts, and
// the coverage of every instance, retired ones included, in the harvest.
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { exitedZero, realstack, testRunId } from './helpers/cli.js';
import { passEngines } from './helpers/engines.js';
import { leftovers } from './helpers/leftovers.js';

const scratch = mkdtempSync(path.join(os.tmpdir(), 'realstack-lifecycle-'));
t.teardown(() => rmSync(scratch, { recursive: true, force: true }));

/** The load's summary line: `load: N requests sent, F failed (...)`. */
const loadOf = (stderr: string) => {
  const m = /load: (\d+) requests sent, (\d+) failed \(([^)]*)\)/.exec(stderr);
  return m ? { sent: Number(m[1]), failed: Number(m[2]), outcomes: m[3] as string } : undefined;
};

for (const engine of await passEngines()) {
  t.test(
    `${engine}: scale up and down (restarts: process pass, update: docker pass); the load and the coverage`,
    async (t) => {
      const coverage = path.join(scratch, engine);
      const env = {
        REALSTACK_ENGINE: engine,
        REALSTACK_RUN_ID: testRunId('life'),
        REALSTACK_COVERAGE_DIR: coverage,
      };
      const cli = (...args: string[]) => realstack(args, env);
      const apis = async () =>
        (
          JSON.parse((await cli('ps', '--json')).stdout) as {
            services: { name: string; instances: { name: string }[] }[];
          }
        ).services
          .find((s) => s.name === 'api')
          ?.instances.map((i) => i.name);

      exitedZero(t, await cli('up', '--coverage'), 'the stack is up, with the coverage spy');
      t.teardown(() => cli('down'));

      const up = await cli('scale', 'api=2', '--profile', 'api-me', '--rate', '100');
      t.equal(up.exitCode, 0, up.stderr);
      t.match(up.stderr, 'load: GET /v1/me, 100 requests/s');
      t.match(up.stderr, /api-2 ready at http:\/\/127\.0\.0\.1:\d+ after/);
      t.match(loadOf(up.stderr), { failed: 0 }, 'scaling up lost no request');
      t.ok((loadOf(up.stderr)?.sent ?? 0) > 0, 'the load sent requests');
      t.same(await apis(), ['api-1', 'api-2']);

      // Restarts in place use stopInstance and startInstance, which chaos faults on docker
      // (tests/serial/chaos/reference.test.ts): here they run in the process pass, to keep CI short.
      const restarts = engine === 'process';
      if (restarts) {
        const roll = await cli('restart', 'api', '--rolling', '--profile', 'api-me', '--rate', '100');
        t.equal(roll.exitCode, 0, roll.stderr);
        t.match(roll.stderr, /api-1: exit 0\n.*api-1 ready again.*\n.*api-2: exit 0\n.*api-2 ready again/);
        t.match(loadOf(roll.stderr), { failed: 0 }, 'a rolling restart of two instances lost no request');
      }

      // An update on docker replaces each container (it keeps its image on a restart); the
      // process engine's update restarts in place, as tests/update.test.ts shows on a new build.
      const updated = engine === 'docker';
      if (updated) {
        const upd = await cli('update', 'api', '--profile', 'api-me', '--rate', '100');
        t.equal(upd.exitCode, 0, 'update', { stderr: upd.stderr });
        t.match(
          upd.stderr,
          /api: starting api-3 on the new build\n.*api-3 ready on the new build.*\n.*api-1: exit 0\n.*api-4 ready on the new build.*\n.*api-2: exit 0/,
          'each old container replaced by a new one, ready first',
        );
        t.match(loadOf(upd.stderr), { failed: 0 }, 'an update of two instances lost no request');
        t.same(await apis(), ['api-3', 'api-4']);
      }
      const [kept, surplus] = updated ? ['api-3', 'api-4'] : ['api-1', 'api-2'];

      const down = await cli('scale', 'api=1', '--profile', 'api-me', '--rate', '100');
      t.equal(down.exitCode, 0, down.stderr);
      t.match(down.stderr, new RegExp(`${surplus}: exit 0\\n`), 'the surplus instance stopped gracefully');
      t.match(loadOf(down.stderr), { failed: 0 }, 'scaling down lost no request');
      t.same(await apis(), [kept], 'the first instance, which peers reach, stays');

      if (restarts) {
        // One instance, all at once: the downtime is real, and the load says how much of it it saw.
        const hard = await cli('restart', 'api');
        t.equal(hard.exitCode, 0, 'a restart all at once promises no availability');
        t.match(hard.stderr, 'load: GET /health');
        t.match(loadOf(hard.stderr)?.outcomes, /no instance: \d+/, 'requests with no instance in rotation');
        t.match(hard.stderr, /first failure: no instance in rotation, [\d.]+ s into the change/);
      }

      const harvest = await cli('coverage', 'harvest');
      t.equal(harvest.exitCode, 0, harvest.stderr);
      const raw = path.join(coverage, 'raw');
      const retired = updated ? ['api-1', 'api-2', surplus] : [surplus];
      for (const instance of retired) {
        const dirs = readdirSync(raw).filter((d) => d === instance || d.startsWith(`${instance}.`));
        t.equal(
          dirs.length,
          1,
          `the retired ${instance}'s coverage is in the harvest (${readdirSync(raw).join(', ')})`,
        );
        const dumps = readdirSync(path.join(raw, dirs[0] as string)).filter((f) =>
          /^coverage-.*\.json$/.test(f),
        );
        t.ok(
          dumps.length >= (restarts ? 2 : 1),
          `${instance} wrote a dump when it retired${restarts ? ', and when it restarted' : ''} (${dumps.length})`,
        );
      }
      t.ok(existsSync(path.join(raw, kept)));
      t.equal((await cli('down')).exitCode, 0);
      t.same(await leftovers(env.REALSTACK_RUN_ID), [], 'nothing of the run is left');
    },
  );
}
