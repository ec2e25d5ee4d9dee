// `realstack update SERVICE` (src/lifecycle/scale.ts updateService): a running service rolled onto
// a new build under a bounded load, and back onto the old one, on a small project whose service
// answers with the version its files hold.
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { request } from 'undici';
import { exitedZero, hasStackTrace, testRunId } from './helpers/cli.js';
import { processPassOnly } from './helpers/engines.js';
import { linkedProject, tinyCompose } from './helpers/project.js';

const skip = processPassOnly();
// It stops gracefully (finishes what it was sent, then exits): one that exits at once on SIGTERM
// loses the requests in flight, and the update's load says so (ECONNRESET).
const server = `const http = require('node:http');
const version = require('node:fs').readFileSync(__dirname + '/version.txt', 'utf8').trim();
const server = http
  .createServer((req, res) => res.end(version))
  .listen(Number(process.env.PORT), process.env.HOST);
process.on('SIGTERM', () => server.close(() => process.exit(0)));
`;
const { dir, realstack } = linkedProject(
  t,
  {
    'docker-compose.yml': tinyCompose,
    'server.cjs': server,
    'version.txt': 'v1\n',
    'package.json': '{"name": "update-project", "private": true}\n',
  },
  testRunId('upd'),
);
t.teardown(() => realstack(['down']));

const answers = async () => {
  const ps = JSON.parse((await realstack(['ps', '--json'])).stdout) as {
    services: { name: string; url: string }[];
  };
  const web = ps.services.filter((s) => s.name.startsWith('web'));
  return Promise.all(web.map(async (s) => (await request(s.url)).body.text()));
};
const loadLine = (stderr: string) => /load: (\d+) requests sent, (\d+) failed/.exec(stderr);

t.test('update rolls a service onto its new build and back, losing no request', { skip }, async (t) => {
  exitedZero(t, await realstack(['up']), 'up');
  t.same(await answers(), ['v1']);

  for (const version of ['v2', 'v1']) {
    writeFileSync(path.join(dir, 'version.txt'), `${version}\n`);
    const res = await realstack(['update', 'web', '--load', '/', '--rate', '100']);
    t.equal(res.exitCode, 0, `update to ${version}`, { stderr: res.stderr });
    t.match(res.stderr, /web: starting (web-\d+) on the new build\n.*\1 ready on the new build/);
    t.match(
      res.stderr,
      /web-1: exit 0\n.*web-1 ready on the new build.*\n.*web-[2-9]: exit 0/,
      'in place, then the extra one retired',
    );
    const load = loadLine(res.stderr);
    t.ok(Number(load?.[1]) > 0, 'the load ran');
    t.equal(load?.[2], '0', 'no request failed');
    t.same(await answers(), [version], `one instance, answering ${version}`);
  }
});

t.test('update: bad input is named, nothing changes', { skip }, async (t) => {
  for (const [args, message] of [
    [['update'], 'realstack update SERVICE: name one service'],
    [['update', 'web', 'db'], 'name one service'],
    [['update', 'nope'], 'there is no service "nope"'],
  ] as const) {
    const res = await realstack([...args]);
    t.equal(res.exitCode, 2, args.join(' '));
    t.match(res.stderr, message);
    t.notOk(hasStackTrace(res.stderr));
  }
  t.same(await answers(), ['v1'], 'the stack is as it was');
});
