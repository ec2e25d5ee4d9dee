import { chmodSync, existsSync, readFileSync } from 'node:fs';
import { connect } from 'node:net';
import path from 'node:path';
import mysql from 'mysql2/promise';
import t, { type Test } from 'tap';
import { request } from 'undici';
import { hasStackTrace, run, testRunId } from './helpers/cli.js';
import { availableEngines, dockerPassOnly, dockerSkipReason } from './helpers/engines.js';
import { leftovers } from './helpers/leftovers.js';
import { linkedProject, tinyCompose, tinyService } from './helpers/project.js';
import { until } from './helpers/wait.js';

// What a user's compose file often says of a Node service, on a machine that cannot pull: a
// Dockerfile that starts FROM a literal official image (no build arg to put a stand-in through),
// `npm start` as its command, a health check that calls curl. realstack builds from a copy of the Dockerfile
// with its stand-in in the FROM (src/images/build.ts), the stand-in carries the npm that came
// with the host's Node (src/images/stand-ins.ts), readiness waits for the service behind
// Docker's proxy (src/util/net.ts), and the stop reaches node under npm and its shell
// (src/engine/node-signals.ts), as the coverage spy needs it.
const skip = dockerPassOnly() || (!(await availableEngines()).includes('docker') && dockerSkipReason);

const compose = (check: string) => `services:
  web:
    build: .
    restart: unless-stopped
    volumes: ["./out:/srv/out"]
    ports: ["8080:8080"]
    healthcheck:
      test: ${check}
      interval: 30s
`;
const dockerfile = `FROM node:20-alpine
WORKDIR /srv
COPY package.json server.cjs ./
CMD ["npm", "start"]
`;
// npm names the script it runs in npm_lifecycle_event; the stop leaves a file behind.
const server = `const fs = require('node:fs');
require('node:http')
  .createServer((q, s) => s.end(JSON.stringify({ script: process.env.npm_lifecycle_event ?? null })))
  .listen(8080);
process.on('SIGTERM', () => {
  fs.writeFileSync('out/stopped', 'SIGTERM');
  process.exit(0);
});
`;

/** A project of its own on the docker engine, taken down after the test. */
function dockerProject(t: Test, prefix: string, files: Record<string, string>) {
  const id = testRunId(prefix);
  const { dir, realstack } = linkedProject(t, files, id);
  const inProject = (args: string[]) => realstack(args, { REALSTACK_ENGINE: 'docker' });
  t.teardown(() => inProject(['down']));
  return { id, dir, realstack: inProject };
}

/** The node project of a test, with the health check `check` (compose's JSON form). */
const project = (t: Test, check: string, more: Record<string, string> = {}) =>
  dockerProject(t, 'si', {
    'docker-compose.yml': compose(check),
    Dockerfile: dockerfile,
    // What the service writes at its stop is not a source (realstack's own outputs are not named).
    '.dockerignore': 'out\n',
    'out/.keep': '',
    'package.json': JSON.stringify({ name: 'web', private: true, scripts: { start: 'node server.cjs' } }),
    'server.cjs': server,
    ...more,
  });

t.test(
  'docker engine: a literal FROM and `npm start`: built on the stand-in, ready when it listens, stopped with its SIGTERM',
  { skip },
  async (t) => {
    const { id, dir, realstack } = project(t, '["CMD", "curl", "-fs", "http://localhost:8080/"]');
    const up = await realstack(['up']);
    t.equal(up.exitCode, 0, up.stderr);
    t.match(up.stderr, /runs realstack's stand-in realstack\/node:/, 'the stand-in runs, and up says so');
    t.match(up.stderr, /web: built from \.realstack\/images\/web\.Dockerfile, a copy of its Dockerfile/);
    t.equal(
      readFileSync(path.join(dir, 'Dockerfile'), 'utf8'),
      dockerfile,
      "the user's Dockerfile is unchanged",
    );
    const ps = JSON.parse((await realstack(['ps', '--json'])).stdout) as { services: { url: string }[] };
    const res = await request(ps.services[0]?.url as string);
    t.same(await res.body.json(), { script: 'start' }, 'npm ran the start script');
    t.match(up.stderr, /web-1\s+running, healthy/, 'its curl check passed: the stand-in has curl');

    const down = await realstack(['down']);
    t.equal(down.exitCode, 0);
    t.match(down.stderr, /web-1: exit 0\n/, 'a graceful stop, not a kill at the end of the grace period');
    t.notOk(hasStackTrace(down.stderr), 'no stack trace');
    const stopped = path.join(dir, 'out', 'stopped');
    t.equal(
      existsSync(stopped) ? readFileSync(stopped, 'utf8') : 'no file',
      'SIGTERM',
      'the service had its SIGTERM through npm',
    );
    t.same(await leftovers(id, [], dir), [], 'nothing of the run is left');

    // The context is the project, and its .dockerignore does not name realstack's state.
    t.match(
      up.stderr,
      "warning: the build context of web (.) sends realstack's .realstack to docker build",
      'up says what of realstack the build takes in, and what to do',
    );
    const again = await realstack(['images']);
    t.match(
      again.stderr,
      /web:local: up to date/,
      'the run wrote to .realstack (its state, its logs): the image is not built again for that',
    );
  },
);

t.test(
  'docker engine: a health check whose command the image lacks is named at once, with what the container said',
  { skip },
  async (t) => {
    const { id, dir, realstack } = project(t, '["CMD", "no-such-probe", "8080"]');
    const up = await realstack(['up']);
    t.equal(up.exitCode, 1);
    t.match(
      up.stderr,
      /web-1 cannot pass its health check \(no-such-probe 8080\): the check cannot run in the container \(.*no-such-probe.*\)/,
    );
    t.match(up.stderr, 'Make it use a command the image has');
    t.notOk(hasStackTrace(up.stderr), 'no stack trace');
    t.same(await leftovers(id, [], dir), [], 'nothing of the run is left');
  },
);

// src/engine/known-checks.ts: a check that GETs the health path realstack's probe just had a
// 2xx from is answered by the probe, where the image has the check's program.
t.test(
  'docker engine: a curl of the health path realstack probes is answered by the probe, with nothing run in the container; a check of another path runs once the service answers; a curl the image lacks still fails',
  { skip },
  async (t) => {
    const healthPath = { 'realstack.json': JSON.stringify({ services: { web: { healthPath: '/health' } } }) };
    const { id, realstack } = project(
      t,
      '["CMD-SHELL", "curl -fsS http://localhost:8080/health || exit 1"]',
      healthPath,
    );
    const since = (Date.now() / 1000).toFixed(3);
    const up = await realstack(['up']);
    t.equal(up.exitCode, 0, up.stderr);
    t.match(up.stderr, /web-1\s+running, healthy/);
    const name = (
      await run('docker', ['ps', '-q', '--filter', `label=dev.realstack.run=${id}`])
    ).stdout.trim();
    const execs = await run('docker', [
      ...['events', '--since', since, '--until', (Date.now() / 1000).toFixed(3)],
      ...['--filter', `container=${name}`, '--filter', 'event=exec_create', '--format', '{{.Action}}'],
    ]);
    t.equal(execs.exitCode, 0, execs.stderr);
    t.equal(execs.stdout.trim(), '', 'realstack ran nothing in the container');
    const log = (await run('docker', ['inspect', '-f', '{{json .State.Health.Log}}', name])).stdout.trim();
    t.same(JSON.parse(log) ?? [], [], 'nor has Docker yet: its first check is 30 s away');
    const env = (await run('docker', ['inspect', '-f', '{{json .Config.Env}}', name])).stdout;
    t.ok(
      (JSON.parse(env) as string[]).includes(`NODE_VERSION=${process.versions.node}`),
      'the stand-in says its Node version, as the official image does (a Node fetch check needs 18)',
    );
    t.equal((await realstack(['down'])).exitCode, 0);

    // A health path that is not the check's (404 here) is still an answer: the check runs then,
    // not at Docker's first interval.
    const elsewhere = project(t, '["CMD", "curl", "-fs", "http://localhost:8080/live"]', {
      ...healthPath,
      'server.cjs':
        "require('node:http').createServer((q, s) => { s.statusCode = q.url === '/live' ? 200 : 404; s.end(); }).listen(8080);\nprocess.on('SIGTERM', () => process.exit(0));\n",
    });
    const since2 = (Date.now() / 1000).toFixed(3);
    const upElsewhere = await elsewhere.realstack(['up']);
    t.equal(upElsewhere.exitCode, 0, upElsewhere.stderr);
    const other = (
      await run('docker', ['ps', '-q', '--filter', `label=dev.realstack.run=${elsewhere.id}`])
    ).stdout.trim();
    const ran = await run('docker', [
      ...['events', '--since', since2, '--until', (Date.now() / 1000).toFixed(3)],
      ...['--filter', `container=${other}`, '--filter', 'event=exec_create', '--format', '{{.Action}}'],
    ]);
    t.match(ran.stdout, /exec_create: curl -fs http:\/\/localhost:8080\/live/, 'realstack ran the check');
    const otherLog = (
      await run('docker', ['inspect', '-f', '{{json .State.Health.Log}}', other])
    ).stdout.trim();
    t.same(JSON.parse(otherLog) ?? [], [], 'before Docker did');
    t.equal((await elsewhere.realstack(['down'])).exitCode, 0);

    const lacking = project(t, '["CMD", "/opt/none/curl", "-f", "http://localhost:8080/health"]', healthPath);
    const failed = await lacking.realstack(['up']);
    t.equal(failed.exitCode, 1, 'the same check through a curl the image does not have');
    t.match(
      failed.stderr,
      /web-1 cannot pass its health check \(\/opt\/none\/curl -f http:\/\/localhost:8080\/health\): the check cannot run in the container/,
    );
    t.notOk(hasStackTrace(failed.stderr), 'no stack trace');
    t.same(await leftovers(lacking.id, [], lacking.dir), [], 'nothing of the run is left');
  },
);

/** Complete replies in what redis wrote so far: a bulk string (`$13`) is complete with its value's line. */
function replyCount(text: string): number {
  const lines = text.split('\r\n').slice(0, -1);
  let n = 0;
  for (let i = 0; i < lines.length; i++) {
    if (/^\$\d/.test(lines[i] as string) && ++i >= lines.length) break;
    n++;
  }
  return n;
}

// A tiny RESP client: each command as an array of bulk strings, the replies as the server wrote them.
async function redis(url: string, commands: string[][]): Promise<string> {
  const { port, hostname } = new URL(url);
  const socket = connect(Number(port), hostname);
  let replies = '';
  socket.on('data', (d) => {
    replies += d.toString();
  });
  for (const c of commands)
    socket.write(`*${c.length}\r\n${c.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('')}`);
  await until(() => replyCount(replies) === commands.length, 'redis to answer every command');
  socket.end();
  return replies;
}

t.test(
  'docker engine: redis:7-alpine on the stand-in: a password from its command, its redis-cli check, a clean stop',
  { skip },
  async (t) => {
    const { id, dir, realstack } = dockerProject(t, 'sir', {
      'docker-compose.yml': `services:
  cache:
    image: redis:7-alpine
    command: redis-server --requirepass s3cret --appendonly yes
    ports: ["6379"]
    healthcheck:
      test: ["CMD", "redis-cli", "-a", "s3cret", "ping"]
      interval: 30s
`,
    });
    const up = await realstack(['up']);
    t.equal(up.exitCode, 0, up.stderr);
    t.match(
      up.stderr,
      /names redis:7-alpine; it cannot be pulled here, so it runs realstack's stand-in realstack\/redis:7/,
    );
    t.match(up.stderr, /cache-1\s+running, healthy/, 'its redis-cli check passed');
    const ps = JSON.parse((await realstack(['ps', '--json'])).stdout) as { services: { url: string }[] };
    const url = ps.services[0]?.url as string;
    t.match(url, /^redis:\/\/127\.0\.0\.1:\d+$/, 'a redis:// URL');
    t.match(await redis(url, [['PING']]), /^-NOAUTH/, 'the password from the command is asked for');
    t.equal(
      await redis(url, [
        ['AUTH', 's3cret'],
        ['SET', 'k', 'from the host'],
        ['GET', 'k'],
      ]),
      '+OK\r\n+OK\r\n$13\r\nfrom the host\r\n',
      'reached from the host, as another container reaches it: no protected mode',
    );
    const down = await realstack(['down']);
    t.equal(down.exitCode, 0, down.stderr);
    t.match(down.stderr, /cache-1: exit 0\n/, 'redis-server had the SIGTERM: a graceful stop');
    t.same(await leftovers(id, [], dir), [], 'nothing of the run is left');
  },
);

t.test(
  'docker engine: nginx:alpine on the stand-in: a template with the environment put in, a proxy to a node service, a graceful stop',
  { skip },
  async (t) => {
    const { id, dir, realstack } = dockerProject(t, 'sin', {
      'docker-compose.yml': `${tinyCompose}  proxy:
    image: nginx:alpine
    environment: { NGINX_PORT: 8081 }
    volumes: ["./templates:/etc/nginx/templates:ro"]
    ports: ["8081"]
    depends_on: [web]
`,
      // NGINX_PORT is the environment's; $uri is nginx's own and must stay as written.
      'templates/default.conf.template': `server {
    listen \${NGINX_PORT};
    add_header X-Uri $uri always;
    location /api/ { proxy_pass http://web:8080/; }
    location / { root /usr/share/nginx/html; }
}
`,
      'server.cjs': tinyService(),
      'package.json': '{"name":"proxied","private":true}',
    });
    const up = await realstack(['up']);
    t.equal(up.exitCode, 0, up.stderr);
    t.match(
      up.stderr,
      /names nginx:alpine; it cannot be pulled here, so it runs realstack's stand-in realstack\/nginx:1\.22/,
    );
    const ps = JSON.parse((await realstack(['ps', '--json'])).stdout) as {
      services: { name: string; url: string }[];
    };
    const proxy = ps.services.find((s) => s.name === 'proxy')?.url as string;
    const api = await request(new URL('/api/anything', proxy));
    t.same(await api.body.json(), { ok: true }, 'the template became conf.d/default.conf: proxied to web');
    t.equal(api.headers['x-uri'], '/api/anything', "nginx's own $uri was left for nginx");
    const page = await request(proxy);
    t.match(await page.body.text(), 'nginx is running', "the stand-in's page, as the official image has one");
    const down = await realstack(['down']);
    t.equal(down.exitCode, 0, down.stderr);
    t.match(down.stderr, /proxy-1: exit 0\n/, 'SIGQUIT, its stop signal: a graceful stop');
    t.same(await leftovers(id, [], dir), [], 'nothing of the run is left');
  },
);

t.test(
  'docker engine: mysql:8 on the MariaDB stand-in: root password from a secret, database and user, flags, init scripts, ready after them',
  { skip },
  async (t) => {
    const { id, dir, realstack } = dockerProject(t, 'sim', {
      'docker-compose.yml': `services:
  shopdb:
    image: mysql:8
    command: --max-connections=77
    environment:
      MYSQL_ROOT_PASSWORD_FILE: /run/secrets/root_pw
      MYSQL_DATABASE: shop
      MYSQL_USER: app
      MYSQL_PASSWORD: "it's secret"
    secrets: [root_pw]
    ports: ["3306"]
    volumes: ["./init:/docker-entrypoint-initdb.d:ro"]
    healthcheck:
      test: ["CMD", "mysqladmin", "ping", "-h", "localhost"]
      interval: 30s
secrets:
  root_pw:
    file: ./root_pw.txt
`,
      'root_pw.txt': 'r00t pw\n',
      'init/01-schema.sql':
        "CREATE TABLE items (name VARCHAR(60) PRIMARY KEY);\nINSERT INTO items VALUES ('from the sql file');\n",
      // Slow, and through the root password the scripts of the official image use: the health
      // check must not pass while it runs.
      'init/02-seed.sh': `#!/bin/bash
sleep 1
mysql -uroot -p"$MYSQL_ROOT_PASSWORD" shop -e "INSERT INTO items VALUES ('from a script')"
`,
    });
    chmodSync(path.join(dir, 'init/02-seed.sh'), 0o755);
    const up = await realstack(['up']);
    t.equal(up.exitCode, 0, up.stderr);
    t.match(
      up.stderr,
      /names mysql:8; it cannot be pulled here, so it runs realstack's stand-in realstack\/mariadb:10\.11 \(MariaDB 10\.11 on Debian bookworm, not MySQL\)/,
    );
    t.match(up.stderr, /shopdb-1\s+running, healthy/, 'its mysqladmin check passed');
    const ps = JSON.parse((await realstack(['ps', '--json'])).stdout) as { services: { url: string }[] };
    const url = new URL(ps.services[0]?.url as string);
    t.equal(url.protocol, 'mysql:');
    const query = async (user: string, password: string, sql: string) => {
      const db = await mysql.createConnection({
        host: url.hostname,
        port: Number(url.port),
        user,
        password,
        database: 'shop',
      });
      try {
        return (await db.query(sql))[0];
      } finally {
        await db.end();
      }
    };
    t.same(
      await query('app', "it's secret", 'SELECT name FROM items ORDER BY name'),
      [{ name: 'from a script' }, { name: 'from the sql file' }],
      'MYSQL_USER reaches MYSQL_DATABASE; both scripts ran before it was ready',
    );
    t.same(
      await query(
        'root',
        'r00t pw',
        "SHOW VARIABLES WHERE Variable_name IN ('max_connections', 'character_set_server')",
      ),
      [
        { Variable_name: 'character_set_server', Value: 'utf8mb4' },
        { Variable_name: 'max_connections', Value: '77' },
      ],
      "root from anywhere with the secret's password (its newline dropped); the command's flags reach the server",
    );
    await t.rejects(query('app', 'wrong', 'SELECT 1'), /Access denied/, 'a wrong password is refused');
    const down = await realstack(['down']);
    t.equal(down.exitCode, 0, down.stderr);
    t.match(down.stderr, /shopdb-1: exit 0\n/, 'a graceful stop');
    t.same(await leftovers(id, [], dir), [], 'nothing of the run is left');
  },
);
