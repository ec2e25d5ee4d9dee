// The process engine wakes its pollers (the start's readiness waits) when a process of the run
// writes output or ends, rather than at their next 100 ms step (src/engine/process.ts,
// `changed`): most servers say so when they listen. On a running stack of a tiny project, the
// engine opened as `up` and `ps` open it.
import t from 'tap';
import { request } from 'undici';
import { loadToolkitConfig } from '../src/config/toolkit.js';
import { openRun } from '../src/stack/stack.js';
import { pause } from '../src/util/pause.js';
import { testRunId } from './helpers/cli.js';
import { processPassOnly } from './helpers/engines.js';
import { linkedProject, tinyService } from './helpers/project.js';

/** What became of a wait within `ms`: pause() ends at the wake, and holds the process open until then as a poller's step does. */
async function within(wake: Promise<void>, ms: number): Promise<'woken' | 'still waiting'> {
  let woken = false;
  void wake.then(() => {
    woken = true;
  });
  await pause(ms, wake);
  return woken ? 'woken' : 'still waiting';
}

t.test(
  "process engine: a poller's wait ends when a service writes output or ends, and not before",
  { skip: processPassOnly() },
  async (t) => {
    const id = testRunId('wake');
    const { dir, realstack } = linkedProject(
      t,
      {
        'docker-compose.yml':
          'services:\n  web:\n    image: node:20\n    working_dir: /app\n    volumes: [".:/app"]\n    command: ["node", "server.cjs"]\n    ports: ["8080"]\n',
        // It says something only when asked to (/say), and ends when asked to (/exit).
        'server.cjs': tinyService(
          "    if (req.url === '/say') console.log('said');\n    if (req.url === '/exit') setTimeout(() => process.exit(3), 50);\n",
        ),
      },
      id,
    );
    const up = await realstack(['up']);
    t.equal(up.exitCode, 0, up.stderr);
    t.teardown(() => realstack(['down']));
    const env = {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      REALSTACK_ENGINE: 'process',
      REALSTACK_RUN_ID: id,
    };
    const engine = await openRun(loadToolkitConfig(dir, env));
    const [web] = await engine.instances();
    const url = web?.url as string;

    const quiet = engine.changed?.() as Promise<void>;
    t.ok(quiet, 'the process engine has the wake');
    t.equal(await within(quiet, 400), 'still waiting', 'a service that writes nothing wakes no one');
    await request(`${url}/`).then((r) => r.body.text());
    t.equal(await within(quiet, 400), 'still waiting', 'nor does a request it answers without a word');

    await request(`${url}/say`).then((r) => r.body.text());
    t.equal(await within(quiet, 30_000), 'woken', 'a line written: the wait is over');

    const ending = engine.changed?.() as Promise<void>;
    await request(`${url}/exit`).then((r) => r.body.text());
    t.equal(await within(ending, 30_000), 'woken', 'a process ended: the wait is over');
    // Its runner records the exit as the wake comes: a look or two later it says so.
    let after = (await engine.instances())[0];
    while (after?.state === 'running')
      after = await pause(20).then(async () => (await engine.instances())[0]);
    t.equal(after?.state, 'exited', 'the next looks see it ended');
    t.equal(after?.exitCode, 3, 'with its exit code');
  },
);
