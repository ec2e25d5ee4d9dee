// A service of several processes, on the engine this pass runs: a cluster's workers serve the
// requests and a forked job does work beside them. Docker's stop signals PID 1 only, and the
// container's end kills what still runs; realstack signals every node process of the container
// and the spy of PID 1 (or of the one child of docker's init, `init: true`) waits for its
// children to write their coverage (coverage-spy/index.cjs), as the process engine signals and
// waits for a service's whole process group.
import t from 'tap';
import { testRunId } from './helpers/cli.js';
import { passEngines } from './helpers/engines.js';
import { leftovers } from './helpers/leftovers.js';
import { linkedProject } from './helpers/project.js';

const files = {
  Dockerfile: `FROM node:20-bookworm-slim
WORKDIR /app
COPY . .
CMD ["node", "server.cjs"]
`,
  '.dockerignore': 'node_modules\n.realstack\ncoverage\n',
  'docker-compose.yml': `services:
  web:
    build: .
    ports: ["8080"]
    environment:
      PORT: 8080
  web-init:
    build: .
    init: true
    ports: ["8080"]
    environment:
      PORT: 8080
`,
  'server.cjs': `const cluster = require('node:cluster');
const http = require('node:http');
const { fork } = require('node:child_process');
function hello() {
  return 'hello from a worker';
}
if (cluster.isPrimary) {
  for (let i = 0; i < 2; i++) cluster.fork();
} else {
  http
    .createServer((req, res) => {
      if (req.url === '/job') {
        fork(\`\${__dirname}/jobs/job.cjs\`).on('message', (m) => res.end(m));
        return;
      }
      res.end(hello());
    })
    .listen(Number(process.env.PORT));
}
`,
  'jobs/job.cjs': `function job() {
  return 'job done';
}
process.send(job(), () => process.exit(0));
`,
  'test/web.test.mjs': `import t from 'tap';
for (const url of [process.env.REALSTACK_WEB_URL, process.env.REALSTACK_WEB_INIT_URL])
  t.test('the workers answer, and a job runs in a process of its own', async (t) => {
    for (let i = 0; i < 4; i++) t.equal(await (await fetch(url)).text(), 'hello from a worker');
    t.equal(await (await fetch(url + '/job')).text(), 'job done');
  });
`,
};

for (const engine of await passEngines()) {
  t.test(`${engine}: test-coverage counts a cluster's workers and a forked job`, async (t) => {
    const runId = testRunId('spp');
    const { dir, realstack } = linkedProject(
      t,
      {
        ...files,
        'realstack.json': JSON.stringify({
          services: { web: { entry: ['server.cjs'] }, 'web-init': { entry: ['server.cjs'] } },
        }),
      },
      runId,
    );
    const cli = (args: string[]) => realstack(args, { REALSTACK_ENGINE: engine });
    t.teardown(() => cli(['down']));
    const res = await cli(['test-coverage']);
    t.equal(res.exitCode, 0, res.all);
    t.match(res.stdout, /^2 passed, 0 failed/m);
    t.notMatch(res.all, /coverage gap/, 'every process wrote its coverage');
    for (const service of ['web', 'web-init'])
      t.match(res.all, `coverage: ${service}-1: counted 1 process the service started itself: jobs/job.cjs`);
    t.match(res.all, /^line coverage: web 100%, web-init 100%/m, "the workers' and the job's lines too");
    t.same(await leftovers(runId, [], dir), []);
  });
}
