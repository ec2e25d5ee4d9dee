// A run id given again (REALSTACK_RUN_ID, as CI and the tests give one): a second start over a
// live run would overwrite its state, and its processes would outlive every `down`, which would
// still say nothing was left. So a live run refuses a second start, and what a killed run left
// under the id is reaped before the new one starts (src/stack/stack.ts).
import { existsSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import t from 'tap';
import { isAlive } from '../src/util/pid.js';
import { hasStackTrace, testRunId } from './helpers/cli.js';
import { processPassOnly } from './helpers/engines.js';
import { crash, leftovers, processPids, readState } from './helpers/leftovers.js';
import { linkedProject, tinyCompose, tinyService, waitingTest } from './helpers/project.js';

const skip = processPassOnly();

t.test('up under the id of a live run is refused, and the live run is left whole', { skip }, async (t) => {
  const id = testRunId('again');
  const { dir, realstack } = linkedProject(
    t,
    { 'docker-compose.yml': tinyCompose, 'server.cjs': tinyService() },
    id,
  );
  t.teardown(() => realstack(['down']));
  const first = await realstack(['up']);
  t.equal(first.exitCode, 0, first.stderr);
  const before = readState(id, dir);
  const pids = processPids(before);

  const again = await realstack(['up']);
  t.equal(again.exitCode, 1);
  t.match(again.stderr, `run ${id} is already up: temp dir `);
  t.match(again.stderr, 'kept by `up` until `down`');
  t.match(again.stderr, 'Take it down first (`npx realstack down`');
  t.notOk(hasStackTrace(again.stderr));
  t.same(readState(id, dir), before, 'its state is the first start’s');

  const down = await realstack(['down']);
  t.equal(down.exitCode, 0, down.stderr);
  t.same(await leftovers(id, pids, dir), [], 'down leaves nothing of it');
});

t.test('a killed run’s id starts again: what it left is reaped first', { skip }, async (t) => {
  const id = testRunId('killed');
  const marker = path.join(os.tmpdir(), `realstack-marker-${id}`);
  t.teardown(() => rmSync(marker, { force: true }));
  const { dir, realstack } = linkedProject(
    t,
    {
      'docker-compose.yml': tinyCompose,
      'server.cjs': tinyService(),
      'package.json': '{"name": "run-id", "private": true, "type": "module"}\n',
      '.taprc': 'include:\n  - "test/**/*.test.mjs"\ndisable-coverage: true\nallow-empty-coverage: true\n',
      'test/waits.test.mjs': waitingTest,
    },
    id,
  );
  t.teardown(() => realstack(['down']));
  const owner = realstack(['test'], { REALSTACK_TEST_MARKER: marker });
  for (let i = 0; i < 600 && !existsSync(marker); i++) await sleep(100);
  t.ok(existsSync(marker), 'the run is up and its test is running');
  const pids = processPids(readState(id, dir));
  await crash(owner, marker);
  t.ok(
    (await leftovers(id, pids, dir)).some((l) => l.startsWith('process')),
    'the killed run left its processes',
  );

  const up = await realstack(['up']);
  t.equal(up.exitCode, 0, up.stderr);
  t.match(up.stderr, new RegExp(`reaping run ${id}: its owner, process \\d+, is gone`));
  // Its own: the new run has processes, and runners, of the same id.
  t.same(
    pids.filter((pid) => isAlive(pid)),
    [],
    'none of the killed run’s processes is left',
  );
  const fresh = processPids(readState(id, dir));
  const down = await realstack(['down']);
  t.equal(down.exitCode, 0, down.stderr);
  t.same(await leftovers(id, [...pids, ...fresh], dir), [], 'down leaves nothing');
});
