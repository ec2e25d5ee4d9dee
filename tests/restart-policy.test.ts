// A service's restart policy (compose's `restart`, or `deploy.restart_policy`) as Docker applies
// it: a service that exits at its first start and is started again is waited for, not failed;
// one that keeps exiting is named after a few restarts, not at the readiness timeout; realstack's
// own kill of it (chaos) is a stop, as Docker's kill is. The process engine's runner restarts
// it as the daemon does (src/engine/runner.ts). On the engine of this pass of the suite.
import path from 'node:path';
import t from 'tap';
import { loadToolkitConfig } from '../src/config/toolkit.js';
import { loadStack } from '../src/stack/compose.js';
import { openRun } from '../src/stack/stack.js';
import { testRunId } from './helpers/cli.js';
import { passEngines } from './helpers/engines.js';
import { leftovers } from './helpers/leftovers.js';
import { linkedProject, tempProject } from './helpers/project.js';

t.test('the policy as compose reads it', async (t) => {
  const policyOf = (service: string) => {
    const dir = tempProject(t, { 'docker-compose.yml': `services:\n  s:\n${service}` });
    return loadStack([path.join(dir, 'docker-compose.yml')], {}).services[0]?.restart;
  };
  t.same(policyOf('    image: node:20\n    restart: unless-stopped\n'), { name: 'unless-stopped' });
  t.same(policyOf('    image: node:20\n    restart: "on-failure:3"\n'), {
    name: 'on-failure',
    maxRetries: 3,
  });
  t.equal(policyOf('    image: node:20\n    restart: "no"\n'), undefined, 'no restarts nothing');
  t.equal(policyOf('    image: node:20\n'), undefined, 'nor does no policy');
  t.same(
    policyOf(
      '    image: node:20\n    restart: always\n    deploy:\n      restart_policy: { condition: on-failure, max_attempts: 2 }\n',
    ),
    { name: 'on-failure', maxRetries: 2 },
    "deploy.restart_policy wins, as in compose v2; swarm's conditions are Docker's policies",
  );
  t.same(
    policyOf('    image: node:20\n    deploy:\n      restart_policy: {}\n'),
    { name: 'always' },
    'any is the default',
  );
  t.throws(() => policyOf('    image: node:20\n    restart: sometimes\n'), {
    message:
      /service "s": restart is "sometimes"; compose knows no, always, unless-stopped, on-failure and on-failure:N/,
  });
  t.throws(() => policyOf('    image: node:20\n    restart: "always:3"\n'), {
    message: /restart is "always:3"/,
  });
});

/** A server that exits with code 1 at its first start (a marker in its own folder says it ran), and at every start when told to. */
const server = `const fs = require('node:fs');
if (process.env.CRASH === 'always' || !fs.existsSync('booted-' + process.env.NAME)) {
  fs.writeFileSync('booted-' + process.env.NAME, '');
  console.log(process.env.NAME + ': cannot start yet');
  process.exit(1);
}
require('node:http')
  .createServer((req, res) => res.end(req.url === '/health' ? 'ok' : 'hello'))
  .listen(Number(process.env.PORT), () => console.log(process.env.NAME + ': listening'));
process.on('SIGTERM', () => process.exit(0));
`;

const service = (name: string, policy: string, env = '') => `  ${name}:
    image: node:20
    working_dir: /app
    volumes: [".:/app"]
    command: ["node", "server.cjs"]
    ports: ["8080"]
    restart: ${policy}
    environment: { PORT: 8080, NAME: ${name}${env} }
`;

for (const engine of await passEngines()) {
  t.test(
    `${engine}: a service that exits at its first start is started again by its policy, and waited for`,
    async (t) => {
      const runId = testRunId('rsp');
      const { dir, realstack } = linkedProject(
        t,
        {
          'docker-compose.yml': `services:\n${service('web', 'on-failure')}${service('side', 'unless-stopped')}  plain:\n    image: node:20\n    working_dir: /app\n    volumes: [".:/app"]\n    command: ["node", "-e", "setInterval(() => {}, 1000)"]\n    depends_on:\n      web: { condition: service_healthy }\n`,
          'server.cjs': server,
        },
        runId,
      );
      const cli = (args: string[]) => realstack(args, { REALSTACK_ENGINE: engine });
      t.teardown(() => cli(['down']));
      const up = await cli(['up']);
      t.equal(up.exitCode, 0, up.all);
      const logs = await cli(['logs']);
      for (const name of ['web', 'side'])
        t.match(
          logs.stdout,
          new RegExp(`${name}-1 \\| ${name}: cannot start yet\\n[\\s\\S]*${name}-1 \\| ${name}: listening`),
          `${name}: it exited, was started again, and listens`,
        );
      const env = {
        PATH: process.env.PATH,
        HOME: process.env.HOME,
        REALSTACK_ENGINE: engine,
        REALSTACK_RUN_ID: runId,
      };
      const run = await openRun(loadToolkitConfig(dir, env));
      const web = (await run.instances()).find((i) => i.name === 'web-1');
      t.match(web, { state: 'running', health: 'healthy', restarts: 1 }, 'web-1 counts its restart');
      const ps = await cli(['ps']);
      t.match(ps.stdout, /web-1 +running \(restarted 1×\) +healthy/, 'and ps says so');

      // realstack's kill (chaos's) is a stop, which no restart policy undoes, as with Docker's kill.
      const killed = await run.stopInstance('web-1', 'kill');
      t.equal(killed.exitCode, 137);
      await new Promise((r) => setTimeout(r, 700));
      const after = (await run.instances()).find((i) => i.name === 'web-1');
      t.match(after, { state: 'exited', exitCode: 137 }, 'no restart follows the kill');
      t.notOk(after?.restarting);

      const down = await cli(['down']);
      t.equal(down.exitCode, 0, down.all);
      t.same(await leftovers(runId, [], dir), []);
    },
  );

  t.test(
    `${engine}: a service that keeps exiting fails the start after a few restarts, and down leaves nothing`,
    async (t) => {
      const runId = testRunId('rsl');
      const { dir, realstack } = linkedProject(
        t,
        {
          'docker-compose.yml': `services:\n${service('loop', 'always', ', CRASH: always')}${service('capped', '"on-failure:1"', ', CRASH: always')}`,
          'server.cjs': server,
        },
        runId,
      );
      const cli = (args: string[], extra: Record<string, string> = {}) =>
        realstack(args, { REALSTACK_ENGINE: engine, ...extra });
      t.teardown(() => cli(['down']));
      const up = await cli(['up']);
      t.equal(up.exitCode, 1, 'the start fails');
      t.match(
        up.stderr,
        /(loop-1 keeps exiting while starting: its restart policy started it again [5-9] times|capped-1 exited with code 1 while starting)[\s\S]*last \d+ log lines of \w+-1:\n {2}\w+: cannot start yet/,
        'named with its logs: the one that keeps exiting, or the one whose retries ran out',
      );
      t.notMatch(up.stderr, /not healthy after/, 'well before the readiness timeout');
      // The failed start took its run down: a restart the policy had pending then would come after.
      await new Promise((r) => setTimeout(r, 500));
      t.same(await leftovers(runId, [], dir), [], 'nothing is left, nor started again since');
    },
  );
}
