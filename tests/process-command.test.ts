// The process engine rewrites a command's compose addresses as it does the environment's
// (processCommand in src/engine/process.ts): a service that waits for its peer with a script of
// its own (`wait.cjs peer:8081 server.cjs`, as wait-for-it.sh is used) starts, where `peer`
// resolves nowhere on this machine.
import t from 'tap';
import { testRunId } from './helpers/cli.js';
import { processPassOnly } from './helpers/engines.js';
import { linkedProject, tinyService } from './helpers/project.js';

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
${service('peer', 8081, '["node", "peer.cjs"]', '    expose: ["8081"]\n')}${service('web', 8080, '["node", "wait.cjs", "peer:8081", "server.cjs"]', '    ports: ["8080"]\n    depends_on: [peer]\n')}`,
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
    'package.json': '{"name": "wait-project", "private": true}\n',
  },
  testRunId('pcmd'),
);
t.teardown(() => realstack(['down']));

t.test("a wait script's peer:8081 is where the run's peer listens", { skip }, async (t) => {
  const explain = await realstack(['config', '--explain']);
  t.match(explain.stdout, 'process engine command: node wait.cjs 127.0.0.1:<peer:8081> server.cjs');
  const up = await realstack(['up']);
  t.equal(up.exitCode, 0, up.exitCode === 0 ? 'web waited for peer, then started' : up.all);
  t.match(up.stderr, /web-1 +running, healthy/);
});
