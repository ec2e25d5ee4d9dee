// What a service's image gives it, on the engine this pass runs: its Dockerfile's ENV (under the
// compose file's environment), an ENTRYPOINT script copied onto the image's PATH that ends in
// `exec "$@"`, and a CMD that names its script by its path in the image. The process engine has no
// image, so it reads them from the Dockerfile (and EXPOSE, the port a service no compose key
// publishes is reached on) and the build context (src/stack/dockerfile.ts,
// src/engine/process.ts hostCommand); under the coverage overlay the image's NODE_OPTIONS preload
// still runs, before the spy's.
import { chmodSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { testRunId } from './helpers/cli.js';
import { passEngines, processPassOnly } from './helpers/engines.js';
import { leftovers } from './helpers/leftovers.js';
import { linkedProject, tinyCompose, tinyService } from './helpers/project.js';

const files = {
  Dockerfile: `FROM node:20-bookworm-slim
WORKDIR /srv/app
ENV NODE_ENV=production GREETING="from the image" HOST=0.0.0.0 PORT=8080
ENV NODE_OPTIONS="--require /srv/app/preload.cjs"
COPY . .
COPY entrypoint.sh /usr/local/bin/app-entrypoint.sh
ENTRYPOINT ["app-entrypoint.sh"]
CMD ["node", "/srv/app/server.cjs"]
`,
  '.dockerignore': 'node_modules\n.realstack\n',
  'docker-compose.yml': `services:
  web:
    build: .
    ports: ["8080"]
    environment:
      GREETING: from compose
      USERS_URL: http://users:4000
    depends_on: [users]
  users:
    build:
      context: .
      dockerfile: Dockerfile.users
`,
  'Dockerfile.users': `FROM node:20-bookworm-slim
WORKDIR /app
COPY users.cjs .
EXPOSE 4000
CMD ["node", "users.cjs"]
`,
  'users.cjs': `require('node:http')
  .createServer((req, res) => res.end('["ada"]'))
  .listen(Number(process.env.PORT ?? 4000));
process.on('SIGTERM', () => process.exit(0));
`,
  'entrypoint.sh': '#!/bin/sh\nset -e\nexport ENTRYPOINT_RAN=yes\nexec "$@"\n',
  'preload.cjs': 'globalThis.preloaded = true;\n',
  'server.cjs': `const http = require('node:http');
const server = http.createServer(async (req, res) => {
  const users = await (await fetch(process.env.USERS_URL)).json();
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end(JSON.stringify({
    users,
    nodeEnv: process.env.NODE_ENV,
    greeting: process.env.GREETING,
    entrypoint: process.env.ENTRYPOINT_RAN,
    preloaded: globalThis.preloaded === true,
    spy: (process.env.NODE_OPTIONS ?? '').includes('coverage-spy'),
    address: server.address().address,
  }));
});
server.listen(Number(process.env.PORT), process.env.HOST);
process.on('SIGTERM', () => server.close(() => process.exit(0)));
`,
};

for (const engine of await passEngines()) {
  t.test(`${engine}: the image's ENV, ENTRYPOINT script and CMD by its image path`, async (t) => {
    const runId = testRunId('img');
    const { dir, realstack } = linkedProject(t, files, runId);
    chmodSync(path.join(dir, 'entrypoint.sh'), 0o755);
    const cli = (args: string[]) => realstack(args, { REALSTACK_ENGINE: engine });
    t.teardown(() => cli(['down']));

    const up = await cli(['up', '--coverage']);
    t.equal(up.exitCode, 0, up.all);
    const url = /^web-1 +running +healthy +(http:\S+)$/m.exec(up.stdout)?.[1];
    if (!url) throw new Error(`no URL for web in:\n${up.stdout}`);
    t.same(
      await (await fetch(url)).json(),
      {
        users: ['ada'],
        nodeEnv: 'production',
        greeting: 'from compose',
        entrypoint: 'yes',
        preloaded: true,
        spy: true,
        // A container listens on every interface; docker publishes on 127.0.0.1 only, and the
        // process engine's service listens there.
        address: engine === 'docker' ? '0.0.0.0' : '127.0.0.1',
      },
      "the image's environment under the compose file's, the entrypoint before the command, the image's preload beside the spy, a peer on the port its EXPOSE names",
    );
    t.equal((await cli(['down'])).exitCode, 0);
    t.same(await leftovers(runId, [], dir), []);
  });
}

t.test(
  'process engine: an address of a peer on a port nothing says it listens on is a warning of up',
  { skip: processPassOnly() },
  async (t) => {
    const runId = testRunId('imw');
    const { dir, realstack } = linkedProject(
      t,
      {
        'docker-compose.yml': tinyCompose.replace(
          'PORT: 8080',
          'PORT: 8080\n      ADMIN_URL: http://web:9999/admin',
        ),
        'server.cjs': tinyService(),
      },
      runId,
    );
    t.teardown(() => realstack(['down']));
    const up = await realstack(['up']);
    t.equal(up.exitCode, 0, up.all);
    t.match(
      up.all,
      /^ {2}web: warning: ADMIN_URL=http:\/\/web:9999\/admin: web has no port 9999 that realstack knows; publish or expose it in the compose file$/m,
    );
    t.equal((await realstack(['down'])).exitCode, 0);
    t.same(await leftovers(runId, [], dir), []);
  },
);
