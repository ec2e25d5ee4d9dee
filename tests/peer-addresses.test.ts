// A service that others reach by its compose name, on the process engine, where compose names
// resolve nowhere: `users` says no port, but `gateway` reaches it at http://users:4000 in its
// environment, so users gets a port of its own and gateway the run's address of it; `legacy`
// holds the same address in its code, which realstack cannot see, and the run that fails on it
// says why, from legacy's log.
import t from 'tap';
import { closing, testRunId } from './helpers/cli.js';
import { processPassOnly } from './helpers/engines.js';
import { linkedProject, tinyService } from './helpers/project.js';

const skip = processPassOnly();
const node = (script: string, more: string) => `    image: node:20
    working_dir: /app
    volumes: [".:/app"]
    command: ["node", "${script}"]
${more}`;
// Answers with what users answers at the address it is given, or 502 and the error in its log.
const proxy = `const http = require('node:http');
const users = process.env.USERS_URL ?? 'http://users:4000';
http
  .createServer(async (req, res) => {
    try {
      res.end(await (await fetch(users)).text());
    } catch (err) {
      console.error('users unreachable: ' + (err.cause?.message ?? err.message));
      res.writeHead(502).end();
    }
  })
  .listen(Number(process.env.PORT));
process.on('SIGTERM', () => process.exit(0));
`;
const { realstack } = linkedProject(
  t,
  {
    'docker-compose.yml': `services:
  users:
${node('users.cjs', '')}  gateway:
${node('proxy.cjs', '    ports: ["8080:8080"]\n    environment:\n      PORT: 8080\n      USERS_URL: http://users:4000\n    depends_on: [users]\n')}  legacy:
${node('proxy.cjs', '    ports: ["8081:8081"]\n    environment:\n      PORT: 8081\n    depends_on: [users]\n')}`,
    'users.cjs': tinyService(),
    'proxy.cjs': proxy,
    'test/peers.test.mjs': `import t from 'tap';
for (const name of ['GATEWAY', 'LEGACY'])
  t.test(name.toLowerCase() + ' answers with what users says', async (t) => {
    const res = await fetch(process.env['REALSTACK_' + name + '_URL']);
    t.equal(res.status, 200);
  });
`,
    '.taprc': 'include:\n  - "test/**/*.test.mjs"\ndisable-coverage: true\nallow-empty-coverage: true\n',
    'package.json': '{"name": "peers", "private": true}\n',
  },
  testRunId('peer'),
);
t.teardown(() => realstack(['down']));

t.test('users listens where its peers reach it, and gateway reaches it there', { skip }, async (t) => {
  const explain = await realstack(['config', '--explain']);
  t.match(explain.stdout, "listens on 4000 (gateway's USERS_URL reaches it there;");
  t.match(explain.stdout, 'USERS_URL: http://users:4000 → http://127.0.0.1:<users:4000>');
  t.notMatch(explain.stdout, /unresolved/, 'no address left that names no port of users');

  const run = await realstack(['test', '--retries', '0']);
  const verdict = closing(run.stdout);
  t.equal(
    verdict,
    '1 passed, 1 failed',
    verdict === '1 passed, 1 failed' ? 'gateway passes, legacy fails' : run.all,
  );
  t.match(run.stderr, 'not ok: test/peers.test.mjs: legacy answers with what users says');
  t.match(
    run.stderr,
    'hint: legacy-1 could not resolve users while the tests ran ("users unreachable: getaddrinfo ENOTFOUND users"): on the process engine every service runs on this machine',
    "the address in legacy's code is named, from its log",
  );
  t.match(run.stderr, "`USERS_URL: http://users:PORT` in legacy's environment");
  t.notMatch(run.stderr, /hint: gateway-1/, 'gateway reached users');
});
