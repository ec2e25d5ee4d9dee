// The process engine's graceful stop signals a service's whole process group, and waits for
// what the command started, not only for the command: `npx tsx server.ts` and
// `sh -c "node server.js; ..."` end at once on SIGTERM while the server is still shutting down
// and writing its coverage. It gets the time it takes, up to the grace period, and the signal
// the compose file asks for.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import t, { type Test } from 'tap';
import { testRunId } from './helpers/cli.js';
import { processPassOnly } from './helpers/engines.js';
import { leftovers } from './helpers/leftovers.js';
import { linkedProject, tinyCompose } from './helpers/project.js';

/**
 * A project whose one service runs `server` from the compose file `compose`, brought up and
 * then down on the process engine; what the stop said, and the project's folder.
 */
async function upThenDown(t: Test, compose: string, server: string) {
  const runId = testRunId('pst');
  const { dir, realstack } = linkedProject(t, { 'docker-compose.yml': compose, 'server.cjs': server }, runId);
  t.teardown(() => realstack(['down']));
  const up = await realstack(['up']);
  t.equal(up.exitCode, 0, up.stderr);
  const down = await realstack(['down']);
  t.equal(down.exitCode, 0, down.stderr);
  t.same(await leftovers(runId, [], dir), [], 'nothing of the run is left');
  return { dir, down };
}

t.test(
  'a server under a wrapper that ends first finishes its own shutdown before the stop is done',
  { skip: processPassOnly() },
  async (t) => {
    const { dir } = await upThenDown(
      t,
      tinyCompose.replace(
        'command: ["node", "server.cjs"]',
        'command: sh -c "node server.cjs; echo the server is gone"',
      ),
      // Longer than the second the runner once gave a group after its leader ended.
      `const fs = require('node:fs');
const server = require('node:http')
  .createServer((q, s) => s.end('ok'))
  .listen(Number(process.env.PORT));
process.on('SIGTERM', () => {
  server.close();
  setTimeout(() => {
    fs.writeFileSync('stopped', 'after its shutdown');
    process.exit(0);
  }, 1500);
});
`,
    );
    t.ok(existsSync(path.join(dir, 'stopped')), 'the server was not killed while it shut down');
    t.equal(readFileSync(path.join(dir, 'stopped'), 'utf8'), 'after its shutdown');
  },
);

t.test(
  "stop_signal: the process engine stops a service with the compose file's signal",
  { skip: processPassOnly() },
  async (t) => {
    const { dir, down } = await upThenDown(
      t,
      tinyCompose.replace('    environment:', '    stop_signal: SIGINT\n    environment:'),
      // It shuts down on SIGINT only: SIGTERM would end it at once, with nothing written.
      `const fs = require('node:fs');
const server = require('node:http')
  .createServer((q, s) => s.end('ok'))
  .listen(Number(process.env.PORT));
process.on('SIGINT', () => {
  server.close();
  fs.writeFileSync('stopped', 'on SIGINT');
  process.exit(0);
});
`,
    );
    t.match(down.stderr, /web-1: exit 0/);
    t.equal(readFileSync(path.join(dir, 'stopped'), 'utf8'), 'on SIGINT');
  },
);
