import { readFileSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { findComposeCli } from '../src/engine/compose-cli.js';
import { testRunId } from './helpers/cli.js';
import { availableEngines, dockerPassOnly, dockerSkipReason } from './helpers/engines.js';
import { leftovers } from './helpers/leftovers.js';
import { linkedProject, tinyCompose, tinyService } from './helpers/project.js';

// `realstack test` runs on the stack `up` started, as docs/testing.md says, but not when the
// engine asked for by name is another: the tests then run on the engine asked for. The compose
// file has keys compose v1 (this machine's) does not know, which a run does without.
t.test(
  'test uses the running stack, unless REALSTACK_ENGINE asks for another engine',
  { skip: dockerPassOnly() || (!(await availableEngines()).includes('docker') && dockerSkipReason) },
  async (t) => {
    const { dir, realstack } = linkedProject(
      t,
      {
        // With keys compose v1 lacks, as compose files written for v2 have them.
        'docker-compose.yml': `${tinyCompose}    develop:
      watch: [{ action: sync+restart, path: ./server.cjs, target: /app/server.cjs }]
    healthcheck:
      test: ["CMD", "node", "-e", "fetch('http://127.0.0.1:8080').then(()=>process.exit(0),()=>process.exit(1))"]
      interval: 30s
      start_interval: 1s
`,
        'server.cjs': tinyService(),
        '.taprc': 'include:\n  - test/**/*.test.mjs\n',
        'test/engine.test.mjs':
          "import t from 'tap';\nconst { REALSTACK_ENGINE, REALSTACK_RUN_ID } = process.env;\nt.pass('on ' + REALSTACK_ENGINE + ', run ' + REALSTACK_RUN_ID);\n",
      },
      testRunId('reuse'),
    );
    // No run id, as a user runs them: `up` makes its run the project's current one, which
    // `test` finds.
    const cli = (args: string[], env: Record<string, string> = {}) =>
      realstack(args, { REALSTACK_RUN_ID: '', ...env });
    t.teardown(() => cli(['down']));
    const up = await cli(['up']);
    t.equal(up.exitCode, 0, up.all);
    const id = readFileSync(path.join(dir, '.realstack/current'), 'utf8').trim();

    const same = await cli(['test']);
    t.equal(same.exitCode, 0, same.all);
    t.match(same.all, `using the running stack: run ${id} (process)`);
    t.match(same.all, `on process, run ${id}`, 'the tests ran on it');

    const other = await cli(['test'], { REALSTACK_ENGINE: 'docker' });
    t.equal(other.exitCode, 0, other.all);
    t.match(
      other.all,
      `a stack runs on the process engine (run ${id}), left alone: REALSTACK_ENGINE=docker asks for the docker engine, so this run starts its own`,
    );
    t.match(other.all, /on docker, run /, 'the tests ran on the engine asked for');
    if ((await findComposeCli(process.env)).version === 1)
      t.match(
        other.all,
        "compose v1 does not know web's develop, web's healthcheck.start_interval: left out of this run, which does without them",
      );
    t.match((await cli(['ps'])).all, /web-1 +running/, 'the running stack is still up');
    t.equal((await cli(['down'])).exitCode, 0);
    t.same(await leftovers(id, [], dir), [], 'nothing of the run is left');
  },
);
