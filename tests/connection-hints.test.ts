// What a failed test's connection error says about the compose network
// (src/testing/connection-hints.ts), read from a compose file as realstack reads it. The run
// that prints these hints is in tests/flaky.test.ts.
import t from 'tap';
import { loadToolkitConfig } from '../src/config/toolkit.js';
import type { FileCounts } from '../src/results/model.js';
import { projectStack } from '../src/stack/compose.js';
import { hintsFor, misdirected } from '../src/testing/connection-hints.js';
import { tempProject } from './helpers/project.js';

const failed = (...failures: string[]): FileCounts[] => [
  {
    file: 'test/a.test.js',
    tests: [{ name: 'a', status: 'failed', ms: 1, attempts: 1, failures }],
    ms: 1,
    endedAt: 1,
  },
];

t.test('refused ports the compose file publishes, and service names used as hosts', async (t) => {
  const dir = tempProject(t, {
    'docker-compose.yml': `services:
  db:
    image: postgres:16
    ports: ["5432:5432"]
  api:
    image: node:20
    working_dir: /app
    volumes: [".:/app"]
    command: node server.js
    ports: ["3000:8080", "9229"]
`,
  });
  const { services } = projectStack(loadToolkitConfig(dir, { PATH: process.env.PATH }));
  const found = misdirected(
    failed(
      'fetch failed: connect ECONNREFUSED 127.0.0.1:3000 (test/a.test.js:3)',
      'connect ECONNREFUSED ::1:3000',
      'getaddrinfo ENOTFOUND db',
      'connect ECONNREFUSED 127.0.0.1:4444',
      'getaddrinfo ENOTFOUND example.internal',
    ),
    services,
  );
  t.same(found, { moved: [{ port: 3000, service: 'api', container: 8080 }], named: ['db'] });
  const [port, host] = hintsFor(found, {
    api: 'http://127.0.0.1:41234',
    db: 'postgres://realstack:s3cret@127.0.0.1:41235/realstack',
  });
  t.equal(
    port,
    `a test connected to port 3000, which api publishes in the compose file (3000:8080); realstack publishes it on a free port of 127.0.0.1 instead, at http://127.0.0.1:41234 in this run, so that runs never clash. Read the URL from REALSTACK_API_URL in the test (or serviceUrl('api') from 'realstack'), or set "pinPorts": true in api's entry in realstack.json to keep the compose file's ports.`,
  );
  t.equal(
    host,
    `a test connected to the host "db", a service of the compose file: the tests run on this machine, where the compose network's names do not resolve. Read the URL from REALSTACK_DB_URL in the test (or serviceUrl('db') from 'realstack'): postgres://realstack:***@127.0.0.1:41235/realstack in this run.`,
    "the database's password is not printed",
  );
  t.same(
    misdirected(failed('connect ECONNREFUSED 127.0.0.1:3000'), [...services.filter((s) => s.name !== 'api')]),
    { moved: [], named: [] },
    'a refused port no service publishes says nothing',
  );
});
