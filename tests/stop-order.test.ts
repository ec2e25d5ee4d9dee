// The order services stop in (src/engine/stop-order.ts): dependants first, as compose does, and
// the data stores after every service that uses them; then a worker whose graceful shutdown
// talks to a Redis it has no depends_on on and to a service it depends on, stopped by `down` on
// the engine this pass runs: both still answer it.
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import t, { type Test } from 'tap';
import { stopInOrder } from '../src/engine/stop-order.js';
import { loadStack } from '../src/stack/compose.js';
import { testRunId } from './helpers/cli.js';
import { passEngines } from './helpers/engines.js';
import { leftovers } from './helpers/leftovers.js';
import { linkedProject, tempProject } from './helpers/project.js';

/** The waves `stopInOrder` stops the services of a compose file in, with `extra` services it does not name. */
async function waves(t: Test, compose: string, extra: string[] = []) {
  const dir = tempProject(t, { 'docker-compose.yml': compose });
  const stack = loadStack([path.join(dir, 'docker-compose.yml')], {});
  const present = [...stack.services.map((s) => s.name), ...extra];
  const inFlight = new Set<string>();
  const seen: string[][] = [];
  const stopped = await stopInOrder(
    stack.services,
    present,
    (service) => service,
    async (service) => {
      inFlight.add(service);
      if (!seen.some((w) => w.includes(service))) seen.push([...inFlight].sort());
      await new Promise((resolve) => setImmediate(resolve));
      inFlight.delete(service);
      return service;
    },
  );
  t.same([...stopped].sort(), [...present].sort(), 'every instance stopped, once');
  // Each wave's last entry lists the wave whole.
  return seen.filter((w, i) => !(seen[i + 1] && w.every((s) => seen[i + 1]?.includes(s))));
}

t.test(
  'dependants stop first; PostgreSQL and Redis after every service that does not lead to them',
  async (t) => {
    const compose = `services:
  db: { image: postgres:16 }
  cache: { image: redis:7-alpine }
  broker: { image: node:20, command: ["node", "broker.js"], depends_on: [db] }
  worker: { image: node:20, command: ["node", "worker.js"], depends_on: { broker: { condition: service_started } } }
  gateway: { image: nginx:alpine, depends_on: [worker] }
`;
    t.same(await waves(t, compose), [['gateway'], ['worker'], ['broker'], ['cache', 'db']]);
    t.same(
      await waves(t, compose, ['gone']),
      [['gateway', 'gone'], ['worker'], ['broker'], ['cache', 'db']],
      'an instance of a service the stack no longer names stops in the first wave',
    );
  },
);

t.test('a store that depends on a service stops before it', async (t) => {
  const compose = `services:
  seed: { image: node:20, command: ["node", "seed.js"] }
  cache: { image: redis:7-alpine, depends_on: [seed] }
  web: { image: node:20, command: ["node", "web.js"], depends_on: [cache] }
`;
  t.same(await waves(t, compose), [['web'], ['cache'], ['seed']]);
});

t.test('a circle the stores rule makes stops together rather than never', async (t) => {
  // Each store waits for the node service the other depends on: no order satisfies both.
  const compose = `services:
  a: { image: node:20, command: ["node", "a.js"] }
  b: { image: node:20, command: ["node", "b.js"] }
  cache: { image: redis:7-alpine, depends_on: [a] }
  db: { image: postgres:16, depends_on: [b] }
`;
  t.same(await waves(t, compose), [['a', 'b', 'cache', 'db']]);
});

const worker = `const http = require('node:http');
const net = require('node:net');
const ping = () =>
  new Promise((resolve, reject) => {
    const { hostname, port } = new URL(process.env.REDIS_URL);
    let text = '';
    const socket = net.connect({ host: hostname, port: Number(port) }, () => socket.write('PING\\r\\nQUIT\\r\\n'));
    socket.setTimeout(3000, () => socket.destroy(new Error('no answer from Redis')));
    socket.on('data', (d) => (text += d));
    socket.on('end', () => resolve(text));
    socket.on('error', reject);
  });
http.createServer((req, res) => res.end('working')).listen(Number(process.env.PORT));
// A queue worker's shutdown: tell the broker, and leave the queue in Redis as it should be.
process.on('SIGTERM', async () => {
  const said = await Promise.all([
    ping().catch((err) => String(err)),
    fetch(process.env.BROKER_URL + '/bye').then((r) => r.text(), (err) => String(err)),
  ]);
  console.log('at its stop, Redis and the broker said: ' + JSON.stringify(said));
  process.exit(said[0].startsWith('+PONG') && said[1] === 'bye' ? 0 : 3);
});
`;

const broker = `require('node:http').createServer((req, res) => res.end('bye')).listen(Number(process.env.PORT));
process.on('SIGTERM', () => process.exit(0));
`;

for (const engine of await passEngines()) {
  t.test(
    `${engine}: down stops a worker while the Redis and the service it talks to at its stop still run`,
    async (t) => {
      const runId = testRunId('sto');
      const { dir, realstack } = linkedProject(
        t,
        {
          Dockerfile: 'FROM node:20-bookworm-slim\nWORKDIR /app\nCOPY *.cjs ./\n',
          '.dockerignore': 'node_modules\n.realstack\n',
          'docker-compose.yml': `services:
  cache:
    image: redis:7-alpine
  broker:
    build: .
    command: ["node", "broker.cjs"]
    ports: ["8080"]
    environment: { PORT: 8080 }
  worker:
    build: .
    command: ["node", "worker.cjs"]
    ports: ["8080"]
    environment:
      PORT: 8080
      REDIS_URL: redis://cache:6379
      BROKER_URL: http://broker:8080
    depends_on: [broker]
`,
        },
        runId,
      );
      writeFileSync(path.join(dir, 'worker.cjs'), worker);
      writeFileSync(path.join(dir, 'broker.cjs'), broker);
      const cli = (args: string[]) => realstack(args, { REALSTACK_ENGINE: engine });
      t.teardown(() => cli(['down']));
      const up = await cli(['up']);
      t.equal(up.exitCode, 0, up.all);
      const down = await cli(['down']);
      t.equal(down.exitCode, 0, down.all);
      t.match(
        down.stderr,
        /worker-1: exit 0[\s\S]*broker-1: exit 0[\s\S]*cache-1: exit 0/,
        'the worker stopped first, and cleanly; Redis last',
      );
      t.same(await leftovers(runId, [], dir), []);
    },
  );
}
