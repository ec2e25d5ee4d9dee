import t from 'tap';
import { just, root, run, testRunId } from './helpers/cli.js';
import { processPassOnly } from './helpers/engines.js';
import { leftovers } from './helpers/leftovers.js';

const skip = processPassOnly();

t.test(
  'the recipes a user types pass their arguments through: up, status, logs, ensure-services-ready, down',
  { skip },
  async (t) => {
    const id = testRunId('just');
    const env = { ...process.env, REALSTACK_ENGINE: 'process', REALSTACK_RUN_ID: id };
    const justDo = (...args: string[]) => run(just, args, { cwd: root, env });

    const up = await justDo('up', '--scale', 'api=2');
    t.equal(up.exitCode, 0, 'just up --scale api=2');
    const status = await justDo('status', '--json');
    const services = (
      JSON.parse(status.stdout) as {
        services: { name: string; instances: { name: string; health: string }[] }[];
      }
    ).services;
    t.same(
      services.find((s) => s.name === 'api')?.instances.map((i) => [i.name, i.health]),
      [
        ['api-1', 'healthy'],
        ['api-2', 'healthy'],
      ],
      'two api replicas, both healthy',
    );
    const logs = await justDo('logs', '--tail', '1', 'api');
    t.equal(logs.exitCode, 0);
    t.same(
      logs.stdout
        .split('\n')
        .map((l) => l.split(' | ')[0])
        .sort(),
      ['api-1', 'api-2'],
      'one line from each replica',
    );
    const ready = await justDo('ensure-services-ready');
    t.equal(ready.exitCode, 0);
    t.match(ready.stdout, /api-2\s+running\s+healthy/);
    const down = await justDo('down');
    t.equal(down.exitCode, 0);
    t.same(await leftovers(id), []);
  },
);

t.test('`just logs -f auth` follows until interrupted', { skip }, async (t) => {
  const id = testRunId('follow');
  const env = { ...process.env, REALSTACK_ENGINE: 'process', REALSTACK_RUN_ID: id };
  t.equal((await run(just, ['up'], { cwd: root, env })).exitCode, 0);
  t.teardown(() => run(just, ['down'], { cwd: root, env }));
  const follow = run(process.execPath, ['bin/realstack.js', 'logs', '-f', 'auth'], {
    cwd: root,
    env,
  });
  let seen = '';
  await new Promise<void>((resolve) => {
    follow.stdout?.on('data', (d: Buffer) => {
      seen += d.toString();
      if (seen.includes('auth listening')) resolve();
    });
  });
  t.match(seen, /^auth-1 \| .*auth listening/m, 'existing lines first');
  follow.kill('SIGINT');
  const res = await follow;
  t.equal(res.exitCode, 0, 'Ctrl-C ends following cleanly');
});
