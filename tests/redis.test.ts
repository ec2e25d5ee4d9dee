// Redis on the process engine: the compose file's redis service runs with this machine's
// redis-server, with the command's config file (a bind mount) and flags, on a port of the run's
// own, and a Node service reaches it at the address compose gives it (`cache:6379`). The docker
// engine's redis is the stand-in image (tests/stand-ins.test.ts).
import t from 'tap';
import { testRunId } from './helpers/cli.js';
import { processPassOnly } from './helpers/engines.js';
import { leftovers } from './helpers/leftovers.js';
import { linkedProject, tinyCompose } from './helpers/project.js';

// A service that speaks RESP itself: each request sends its commands, then QUIT, and answers
// with what Redis said.
const server = `const http = require('node:http');
const net = require('node:net');
const { hostname, port, password } = new URL(process.env.REDIS_URL);
const ask = (commands) =>
  new Promise((resolve, reject) => {
    let text = '';
    const socket = net.connect({ host: hostname, port: Number(port) }, () =>
      socket.write([\`AUTH \${password}\`, ...commands, 'QUIT'].join('\\r\\n') + '\\r\\n'),
    );
    socket.setTimeout(5000, () => socket.destroy(new Error('no answer from Redis')));
    socket.on('data', (d) => (text += d));
    socket.on('end', () => resolve(text));
    socket.on('error', reject);
  });
http
  .createServer(async (req, res) => {
    const commands = req.url === '/count' ? ['INCR hits'] : ['CONFIG GET maxmemory'];
    res.end(await ask(commands).catch((err) => String(err)));
  })
  .listen(Number(process.env.PORT), process.env.HOST);
process.on('SIGTERM', () => process.exit(0));
`;

t.test(
  'process engine: a redis service runs on redis-server here, its config file and password as written',
  { skip: processPassOnly() },
  async (t) => {
    const runId = testRunId('rds');
    const { dir, realstack } = linkedProject(
      t,
      {
        'docker-compose.yml': `${tinyCompose.replace('      PORT: 8080\n', '      PORT: 8080\n      REDIS_URL: redis://:s3cret@cache:6379\n')}    depends_on:
      cache: { condition: service_healthy }
  cache:
    image: redis:7-alpine
    command: ["redis-server", "/usr/local/etc/redis/redis.conf", "--requirepass", "s3cret"]
    volumes: ["./redis.conf:/usr/local/etc/redis/redis.conf:ro"]
    healthcheck:
      test: ["CMD", "redis-cli", "-a", "s3cret", "ping"]
`,
        'redis.conf': 'maxmemory 10mb\nmaxmemory-policy allkeys-lru\n',
        'server.cjs': server,
      },
      runId,
    );
    t.teardown(() => realstack(['down']));
    const up = await realstack(['up']);
    t.equal(up.exitCode, 0, up.all);
    t.match(up.stdout, /^cache-1 +running +healthy +redis:\/\/127\.0\.0\.1:\d+$/m, 'a URL of its own');
    const web = /^web-1 +running +healthy +(http:\S+)$/m.exec(up.stdout)?.[1] as string;
    t.match(await (await fetch(`${web}/count`)).text(), /^\+OK\r\n:1\r\n\+OK\r\n$/, 'AUTH, then INCR: 1');
    t.match(await (await fetch(`${web}/count`)).text(), /:2\r\n/, 'the same server keeps the count');
    t.match(
      await (await fetch(`${web}/config`)).text(),
      /\$9\r\nmaxmemory\r\n\$8\r\n10485760\r\n/,
      'the config file the compose file mounts: maxmemory 10mb',
    );

    const down = await realstack(['down']);
    t.equal(down.exitCode, 0, down.all);
    t.match(down.stderr, /web-1: exit 0[\s\S]*cache-1: exit 0/, 'stopped after web, gracefully');
    t.same(await leftovers(runId, [], dir), []);
  },
);
