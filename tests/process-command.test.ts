// The process engine rewrites a command's compose addresses as it does the environment's
// (processCommand in src/engine/process.ts): a service that waits for its peer with a script of
// its own (`wait.cjs peer:8081 server.cjs`, as wait-for-it.sh is used) starts, where `peer`
// resolves nowhere on this machine; so does one whose wait loop names its peer with a host flag
// (`pg_isready -h db`) or as netcat does (`nc -z peer 8081`).
import path from 'node:path';
import t from 'tap';
import type { Role } from '../src/config/project.js';
import { rewriteHostWords } from '../src/engine/rewrite-command.js';
import type { Peer } from '../src/engine/rewrite-env.js';
import { peerInScripts } from '../src/engine/unresolved.js';
import { testRunId } from './helpers/cli.js';
import { processPassOnly } from './helpers/engines.js';
import { linkedProject, tempProject, tinyService } from './helpers/project.js';

const skip = processPassOnly();
const service = (name: string, port: number, command: string, more = '') => `  ${name}:
    image: node:20
    working_dir: /app
    volumes: [".:/app"]
    command: ${command}
    environment:
      PORT: ${port}
${more}`;
const { realstack } = linkedProject(
  t,
  {
    'docker-compose.yml': `services:
${service('peer', 8081, '["node", "peer.cjs"]', '    expose: ["8081"]\n')}${service('web', 8080, '["node", "wait.cjs", "peer:8081", "server.cjs"]', '    ports: ["8080"]\n    depends_on: [peer]\n')}${service('pgwait', 8082, '\'sh -c "until node probe.cjs -h db -U app; do sleep 0.2; done; exec node server.cjs"\'', '    depends_on: [db]\n')}${service('ncwait', 8083, '["node", "probe.cjs", "-z", "peer", "8081", "--then", "server.cjs"]', '    depends_on: [peer]\n')}${service('flagwait', 8084, '["node", "probe.cjs", "--port=5432", "--host=db", "--then", "server.cjs"]', '    depends_on: [db]\n')}  db:
    image: postgres:16
    environment:
      POSTGRES_USER: app
      POSTGRES_PASSWORD: app
`,
    'peer.cjs': tinyService(),
    'server.cjs': tinyService(),
    // Tries for 5 s, then gives up: as wait-for-it.sh --strict does.
    'wait.cjs': `const net = require('node:net');
const [host, port] = process.argv[2].split(':');
const until = Date.now() + 5000;
const attempt = () => {
  const socket = net.connect(Number(port), host, () => {
    socket.end();
    require(require('node:path').resolve(process.argv[3]));
  });
  socket.on('error', (err) => {
    if (Date.now() > until) {
      console.error('wait: ' + host + ':' + port + ' never answered: ' + err.message);
      process.exit(1);
    }
    setTimeout(attempt, 100);
  });
};
attempt();
`,
    // A wait tool's two ways of being told where: -h/--host and -p/--port (5432 unless told), or
    // -z HOST PORT as netcat takes them. Once without --then (a shell loop retries), for 5 s with it.
    'probe.cjs': `const net = require('node:net');
const a = process.argv.slice(2);
const flag = (short, long) => {
  const i = a.findIndex((w) => w === short || w === long);
  return i >= 0 ? a[i + 1] : a.find((w) => w.startsWith(long + '='))?.slice(long.length + 1);
};
const z = a.indexOf('-z');
const host = z >= 0 ? a[z + 1] : flag('-h', '--host');
const port = Number(z >= 0 ? a[z + 2] : (flag('-p', '--port') ?? 5432));
const then = flag('--then', '--then');
const until = Date.now() + 5000;
const attempt = () => {
  const socket = net.connect(port, host, () => {
    socket.end();
    if (then) require(require('node:path').resolve(then));
  });
  socket.on('error', (err) => {
    console.error('probe: ' + host + ':' + port + ': ' + err.message);
    if (!then || Date.now() > until) process.exit(1);
    setTimeout(attempt, 100);
  });
};
attempt();
`,
    'package.json': '{"name": "wait-project", "private": true}\n',
  },
  testRunId('pcmd'),
);
t.teardown(() => realstack(['down']));

t.test("a wait script's peer:8081 is where the run's peer listens", { skip }, async (t) => {
  const explain = await realstack(['config', '--explain']);
  t.match(explain.stdout, 'process engine command: node wait.cjs 127.0.0.1:<peer:8081> server.cjs');
  t.match(
    explain.stdout,
    'process engine command: sh -c until node probe.cjs -h 127.0.0.1 -p <db:5432> -U app;',
    "a host flag's PostgreSQL gets its port, which pg_isready would otherwise take as 5432",
  );
  t.match(
    explain.stdout,
    'process engine command: node probe.cjs -z 127.0.0.1 <peer:8081> --then server.cjs',
  );
  t.match(
    explain.stdout,
    'process engine command: node probe.cjs --port=<db:5432> --host=127.0.0.1 --then server.cjs',
  );
  const up = await realstack(['up'], { REALSTACK_READY_TIMEOUT_MS: '30000' });
  t.equal(up.exitCode, 0, up.exitCode === 0 ? 'each waited for its peer, then started' : up.all);
  for (const name of ['web', 'pgwait', 'ncwait', 'flagwait'])
    t.match(up.stderr, new RegExp(`${name}-1 +running, healthy`), `${name} is healthy`);
});

t.test('host flags and host-port words: what is rewritten, and what is left as written', (t) => {
  const peer = (service: string, port: number, host: number): Peer => ({
    service,
    ports: new Map([[port, String(host)]]),
    defaultPort: port,
  });
  const names = new Map([
    ['db', peer('db', 5432, 40001)],
    ['cache', peer('cache', 6379, 40002)],
    ['api', peer('api', 3000, 40003)],
  ]);
  const roles: Record<string, Role> = { db: 'postgres', cache: 'redis', api: 'node' };
  // [the command's words, as the process engine runs them, why]
  const cases: [string[], string[], string][] = [
    [
      ['pg_isready', '-h', 'db'],
      ['pg_isready', '-h', '127.0.0.1', '-p', '40001'],
      'exec form: words of their own',
    ],
    [
      ['sh', '-c', 'pg_isready -p 5432 -h "db" && exec node s.js'],
      ['sh', '-c', 'pg_isready -p 40001 -h "127.0.0.1" && exec node s.js'],
      'a port flag before the host, a quoted host',
    ],
    [
      ['sh', '-c', 'redis-cli -h cache ping; psql -p 5432'],
      ['sh', '-c', 'redis-cli -h 127.0.0.1 -p 40002 ping; psql -p 5432'],
      "another command's port flag is not this one's",
    ],
    [
      ['sh', '-c', 'pg_isready -h db -p 6000'],
      ['sh', '-c', 'pg_isready -h 127.0.0.1 -p 6000'],
      'a port the service does not have is left',
    ],
    [
      ['curl-wait', '--host', 'api'],
      ['curl-wait', '--host', '127.0.0.1'],
      'no port is added for a service whose tools have no default',
    ],
    [
      ['sh', '-c', 'while ! nc -z db 5432; do sleep 1; done'],
      ['sh', '-c', 'while ! nc -z 127.0.0.1 40001; do sleep 1; done'],
      'netcat',
    ],
    [
      ['sh', '-c', 'sleep 5; echo waiting for db 5432 and api 80; ssh -h x'],
      ['sh', '-c', 'sleep 5; echo waiting for 127.0.0.1 40001 and api 80; ssh -h x'],
      'a service and one of its ports, as words anywhere; a port it does not have, or no service, is left',
    ],
    [
      ['node', 'server.js', '-h', 'elsewhere'],
      ['node', 'server.js', '-h', 'elsewhere'],
      'a host that is no service is left',
    ],
  ];
  for (const [words, runs, why] of cases)
    t.same(
      rewriteHostWords(words, names, (p) => roles[p.service] as Role),
      runs,
      why,
    );
  t.end();
});

t.test(
  'a peer named where no rewrite reaches (a shell variable) fails the start at once, naming it',
  { skip },
  async (t) => {
    const { realstack } = linkedProject(
      t,
      {
        'docker-compose.yml': `services:
${service('peer', 8081, '["node", "peer.cjs"]', '    expose: ["8081"]\n')}${service('stuck', 8080, '\'sh -c "H=peer; until node connect.cjs $$H 8081; do sleep 0.2; done; exec node server.cjs"\'', '    depends_on: [peer]\n')}`,
        'connect.cjs': `require('node:net')
  .connect(Number(process.argv[3]), process.argv[2], () => process.exit(0))
  .on('error', (err) => {
    console.error(err.message);
    process.exit(1);
  });
`,
        'peer.cjs': tinyService(),
        'server.cjs': tinyService(),
        'package.json': '{"name": "stuck-project", "private": true}\n',
      },
      testRunId('pcst'),
    );
    t.teardown(() => realstack(['down']));
    const up = await realstack(['up']);
    t.equal(up.exitCode, 1, 'up fails');
    t.match(
      up.stderr,
      /stuck-1 cannot reach peer: its log says "getaddrinfo ENOTFOUND peer"/,
      'naming the peer and the log line',
    );
    t.match(up.stderr, /REALSTACK_ENGINE=docker/, 'and what to do');
    t.notMatch(up.stderr, /not healthy after/, 'before the ready timeout');
  },
);

t.test("a peer named in a service's code, which ends it: named at its exit", { skip }, async (t) => {
  const { realstack } = linkedProject(
    t,
    {
      'docker-compose.yml': `services:
${service('peer', 8081, '["node", "peer.cjs"]', '    expose: ["8081"]\n')}${service('eager', 8080, '["node", "server.cjs"]', '    depends_on: [peer]\n')}`,
      'peer.cjs': tinyService(),
      // Its peer's address written in the code, and no handler for the connection's error.
      'server.cjs': "require('node:net').connect(8081, 'peer', () => require('./listen.cjs'));\n",
      'listen.cjs': tinyService(),
      'package.json': '{"name": "eager-project", "private": true}\n',
    },
    testRunId('pcea'),
  );
  t.teardown(() => realstack(['down']));
  const up = await realstack(['up']);
  t.equal(up.exitCode, 1, 'up fails');
  t.match(
    up.stderr,
    /eager-1 exited with code 1 while starting; it cannot reach peer: its log says "Error: getaddrinfo ENOTFOUND peer"/,
    'naming the peer and the log line',
  );
  t.match(up.stderr, /REALSTACK_ENGINE=docker\)\nlast/, 'and what to do, before its log');
});

t.test("the peer names a service's scripts write as hosts, and what they do not", async (t) => {
  const names = new Map([
    ['db', 'db'],
    ['database', 'db'],
    ['api', 'api'],
    ['web', 'web'],
  ]);
  const dir = tempProject(t, {
    'bare.js': "net.connect(5432, 'db');\n",
    'pair.js': 'const address = "db:5432";\n',
    'url.js': "const url = 'postgres://app:secret@database/app';\n",
    'api-url.js': 'fetch(`http://api:3000/v1/me`);\n',
    'path.js': "app.get('api/v1', handler); const me = 'web';\n",
    'bundle.js': `${'x'.repeat(300 * 1024)}\nnet.connect(5432, 'db');\n`,
  });
  const at = (file: string) => peerInScripts([path.join(dir, file)], names, 'web');
  t.same(at('bare.js'), { name: 'db', file: path.join(dir, 'bare.js') });
  t.equal(at('pair.js')?.name, 'db', 'a host:port pair');
  t.equal(at('url.js')?.name, 'database', "a URL's host, an alias of db");
  t.equal(at('api-url.js')?.name, 'api');
  t.equal(at('path.js'), undefined, "a route's path is no host, and the service's own name is not a peer");
  t.equal(at('bundle.js'), undefined, 'a bundle of packages is not read');
  t.equal(peerInScripts([path.join(dir, 'missing.js')], names, 'web'), undefined, 'a script not there');
});
