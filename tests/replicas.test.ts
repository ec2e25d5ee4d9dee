// A compose file's `deploy.replicas` starts that many instances, on the engine this pass runs
// (compose v2 honours it, and realstack passes it as --scale so compose v1 does too); `--scale`
// on the command line wins over it.
import t from 'tap';
import { testRunId } from './helpers/cli.js';
import { passEngines } from './helpers/engines.js';
import { leftovers } from './helpers/leftovers.js';
import { linkedProject, tinyCompose, tinyService } from './helpers/project.js';

for (const engine of await passEngines()) {
  t.test(`${engine}: deploy.replicas: 2 starts two instances, each on a port of its own`, async (t) => {
    const runId = testRunId('rep');
    const { dir, realstack } = linkedProject(
      t,
      {
        'docker-compose.yml': `${tinyCompose}    deploy:\n      replicas: 2\n`,
        'server.cjs': tinyService(),
      },
      runId,
    );
    const cli = (args: string[]) => realstack(args, { REALSTACK_ENGINE: engine });
    t.teardown(() => cli(['down']));
    const up = await cli(['up']);
    t.equal(up.exitCode, 0, up.all);
    const urls = [...up.stdout.matchAll(/^web-(\d) +running +healthy +(http:\S+)$/gm)].map(
      (m) => m[2] as string,
    );
    t.equal(urls.length, 2, up.stdout);
    t.equal(new Set(urls).size, 2, 'two ports');
    for (const url of urls) t.equal((await fetch(url)).status, 200, `${url} answers`);
    t.equal((await cli(['down'])).exitCode, 0);

    const scaled = await cli(['up', '--scale', 'web=3']);
    t.equal(scaled.exitCode, 0, scaled.all);
    t.match(scaled.stdout, /^web-3 +running +healthy/m, '--scale wins over the compose file');
    t.equal((await cli(['down'])).exitCode, 0);
    t.same(await leftovers(runId, [], dir), []);
  });
}
