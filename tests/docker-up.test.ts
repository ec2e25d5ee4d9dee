// The docker engine's `up` has compose create the run's containers while the build is checked,
// from the images the last build left (src/engine/docker.ts, src/stack/stack.ts): a first run
// with no image yet, a changed source that moves the image's tag, and a build that fails must
// each end as if compose had waited for the build.
import { writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import t, { type Test } from 'tap';
import { request } from 'undici';
import { freePort } from '../src/util/net.js';
import { hasStackTrace, testRunId } from './helpers/cli.js';
import { availableEngines, dockerPassOnly, dockerSkipReason } from './helpers/engines.js';
import { leftovers } from './helpers/leftovers.js';
import { linkedProject } from './helpers/project.js';

const skip = dockerPassOnly() || (!(await availableEngines()).includes('docker') && dockerSkipReason);

const server = (answer: string) =>
  `require('node:http').createServer((q, s) => s.end('${answer}')).listen(8080);\n`;

t.test(
  'docker engine: containers made before the build are made again where it changed their image',
  { skip },
  async (t) => {
    const id = testRunId('du');
    const { dir, realstack: inProject } = linkedProject(
      t,
      {
        'docker-compose.yml': 'services:\n  web:\n    build: .\n    ports: ["8080"]\n',
        Dockerfile: 'FROM node:20-alpine\nWORKDIR /srv\nCOPY server.cjs ./\nCMD ["node", "server.cjs"]\n',
        'server.cjs': server('one'),
      },
      id,
    );
    const realstack = (args: string[]) => inProject(args, { REALSTACK_ENGINE: 'docker' });
    t.teardown(() => realstack(['down']));
    const answer = async () => {
      const ps = JSON.parse((await realstack(['ps', '--json'])).stdout) as { services: { url: string }[] };
      return (await request(ps.services[0]?.url as string)).body.text();
    };

    const first = await realstack(['up']);
    t.equal(first.exitCode, 0, first.stderr);
    t.match(first.stderr, /build \S+\/web:local \(service web, Dockerfile\): done/, 'no image yet: built');
    t.notMatch(first.all, /No such image|ERROR/, 'compose finding no image before the build is not shown');
    t.equal(await answer(), 'one');
    t.equal((await realstack(['down'])).exitCode, 0);

    writeFileSync(path.join(dir, 'server.cjs'), server('two'));
    const changed = await realstack(['up']);
    t.equal(changed.exitCode, 0, changed.stderr);
    t.match(
      changed.stderr,
      /build \S+\/web:local \(service web, Dockerfile\): done/,
      'a source changed: built',
    );
    t.equal(await answer(), 'two', 'the container runs the new build, not the image it was made from');
    t.equal((await realstack(['down'])).exitCode, 0);

    const same = await realstack(['up']);
    t.equal(same.exitCode, 0, same.stderr);
    t.match(same.stderr, /web:local: up to date/);
    t.equal(await answer(), 'two');
    t.equal((await realstack(['down'])).exitCode, 0);

    // The containers compose made meanwhile go with the failed build.
    writeFileSync(path.join(dir, 'Dockerfile'), 'FROM node:20-alpine\nCOPY missing.cjs ./\n');
    const broken = await realstack(['up']);
    t.equal(broken.exitCode, 1, 'a failed build stops the up');
    t.match(broken.stderr, /missing\.cjs/, "the build's own complaint");
    t.notOk(hasStackTrace(broken.stderr), 'no stack trace');
    t.same(await leftovers(id, [], dir), [], 'nothing of the run is left');
  },
);

/** One node service, its folder bind-mounted, published as `ports` says. */
const webCompose = (ports: string) =>
  `services:\n  web:\n    image: node:20\n    working_dir: /app\n    volumes: [".:/app"]\n    command: ["node", "server.cjs"]\n    ports: ["${ports}"]\n`;

/** A project whose docker `up` fails: what it said, once nothing of its run is left and nothing it said was a stack trace. */
async function failedUp(t: Test, label: string, files: Record<string, string>) {
  const id = testRunId(label);
  const { dir, realstack: inProject } = linkedProject(t, files, id);
  const realstack = (args: string[]) => inProject(args, { REALSTACK_ENGINE: 'docker' });
  t.teardown(() => realstack(['down']));
  const up = await realstack(['up']);
  t.equal(up.exitCode, 1, 'up fails');
  t.notOk(hasStackTrace(up.stderr), 'no stack trace');
  t.same(await leftovers(id, [], dir), [], 'nothing of the run is left');
  return up.stderr;
}

// realstack starts the containers compose made through the daemon's API (startContainer in
// src/engine/docker-api.ts); a start the daemon refuses is said with its cause.
t.test(
  'docker engine: a pinned host port another program holds: up says which, and leaves nothing',
  { skip },
  async (t) => {
    const port = await freePort();
    const holder = net.createServer().listen(port, '127.0.0.1');
    t.teardown(() => holder.close());
    const said = await failedUp(t, 'dup', {
      'docker-compose.yml': webCompose(`127.0.0.1:${port}:8080`),
      'realstack.json': JSON.stringify({ services: { web: { pinPorts: true } } }),
      'server.cjs': server('one'),
    });
    t.match(said, `web-1 did not start: host port 127.0.0.1:${port} is already taken by another program`);
  },
);

// With no health check of its own, realstack's probe of the health path is the service's
// readiness (src/stack/probe.ts unhealthyAnswer): an answer that is not 2xx is said as it came.
t.test(
  'docker engine: a health path that answers, but not 2xx, with no check of its own: said with what it answered',
  { skip },
  async (t) => {
    const said = await failedUp(t, 'duh', {
      'docker-compose.yml': webCompose('8080'),
      'realstack.json': JSON.stringify({ services: { web: { healthPath: '/health' } } }),
      'server.cjs':
        "require('node:http').createServer((q, s) => { s.statusCode = 500; s.end('migrations pending'); }).listen(8080);\n",
    });
    t.match(
      said,
      'web-1 is unhealthy: GET /health answers 500 (migrations pending), and realstack waits for a 2xx (its healthPath in realstack.json)',
    );
    t.notMatch(said, 'keeps failing', 'no health check of its own to fail');
  },
);
