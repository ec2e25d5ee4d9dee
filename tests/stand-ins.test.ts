import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { request } from 'undici';
import { hasStackTrace, testRunId } from './helpers/cli.js';
import { availableEngines, dockerPassOnly, dockerSkipReason } from './helpers/engines.js';
import { leftovers } from './helpers/leftovers.js';
import { linkedProject } from './helpers/project.js';

// What a user's compose file often says of a Node service, on a machine that cannot pull: a
// Dockerfile that starts FROM a literal official image (no build arg to put a stand-in through),
// `npm start` as its command, no health check. realstack builds from a copy of the Dockerfile
// with its stand-in in the FROM (src/images/build.ts), the stand-in carries the npm that came
// with the host's Node (src/images/stand-ins.ts), readiness waits for the service behind
// Docker's proxy (src/util/net.ts), and the stop reaches node under npm and its shell
// (src/engine/node-signals.ts), as the coverage spy needs it.
const skip = dockerPassOnly() || (!(await availableEngines()).includes('docker') && dockerSkipReason);

const compose = `services:
  web:
    build: .
    restart: unless-stopped
    volumes: ["./out:/srv/out"]
    ports: ["8080:8080"]
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

t.test(
  'docker engine: a literal FROM and `npm start`: built on the stand-in, ready when it listens, stopped with its SIGTERM',
  { skip },
  async (t) => {
    const id = testRunId('npm');
    const env = { REALSTACK_ENGINE: 'docker' };
    const { dir, realstack } = linkedProject(
      t,
      {
        'docker-compose.yml': compose,
        Dockerfile: dockerfile,
        'out/.keep': '',
        'package.json': JSON.stringify({ name: 'web', private: true, scripts: { start: 'node server.cjs' } }),
        'server.cjs': server,
      },
      id,
    );
    t.teardown(() => realstack(['down'], env));
    const up = await realstack(['up'], env);
    t.equal(up.exitCode, 0, up.stderr);
    t.match(up.stderr, /runs realstack's stand-in realstack\/node:/, 'the stand-in runs, and up says so');
    t.match(up.stderr, /web: built from \.realstack\/images\/web\.Dockerfile, a copy of its Dockerfile/);
    t.equal(
      readFileSync(path.join(dir, 'Dockerfile'), 'utf8'),
      dockerfile,
      "the user's Dockerfile is unchanged",
    );
    const ps = JSON.parse((await realstack(['ps', '--json'], env)).stdout) as { services: { url: string }[] };
    const res = await request(ps.services[0]?.url as string);
    t.same(await res.body.json(), { script: 'start' }, 'npm ran the start script');

    const down = await realstack(['down'], env);
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
  },
);
