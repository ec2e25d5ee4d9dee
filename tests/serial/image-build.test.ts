// `realstack images` on the checkout itself, so alone: it stages the services' production modules
// and builds under the checkout's own image tags, which every docker stack of the suite starts from.
import t from 'tap';
import { hasStackTrace, realstack, run } from '../helpers/cli.js';
import { otherPass, passEngines } from '../helpers/engines.js';

const engines = await passEngines();

t.test(
  'docker engine: an image build that fails names the step',
  { skip: !engines.includes('docker') && otherPass('docker') },
  async (t) => {
    // The failed RUN step's container (classic builder), named by its command.
    const failedSteps = async () =>
      (await run('docker', ['ps', '-a', '--no-trunc', '--format', '{{.Command}}'])).stdout
        .split('\n')
        .filter((c) => c.includes('simulated build failure')).length;
    const before = await failedSteps();
    const res = await realstack(['images'], {
      REALSTACK_COMPOSE_FILES: 'docker-compose.yml,tests/fixtures/failing-build.yml',
    });
    t.equal(res.exitCode, 1);
    t.match(
      res.stderr,
      /image build failed at step "build realstack-[a-z0-9-]+\/auth:local \(service auth, tests\/fixtures\/failing\.Dockerfile\)"/,
    );
    t.match(res.stderr, 'simulated build failure');
    t.notOk(hasStackTrace(res.stderr), 'no stack trace');
    t.equal(await failedSteps(), before, 'the failed step left no container behind');
  },
);
