// The coverage snapshot's signal (REALSTACK_COVERAGE_SIGNAL, src/coverage/instrument.ts) reaches
// the spy in every service, not only the command that sends it: a service that shuts down on
// SIGUSR2 itself (nodemon's restart signal) keeps running through a snapshot taken with another.
import { readdirSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { exitedZero, hasStackTrace, testRunId } from './helpers/cli.js';
import { processPassOnly } from './helpers/engines.js';
import { linkedProject, tinyCompose, tinyService } from './helpers/project.js';

const skip = processPassOnly();
const { dir, realstack } = linkedProject(
  t,
  {
    'docker-compose.yml': tinyCompose,
    // As many Express apps are written for nodemon: SIGUSR2 means "shut down now".
    'server.cjs': `${tinyService()}process.once('SIGUSR2', () => process.exit(0));\n`,
    'package.json': '{"name": "signal-project", "private": true}\n',
  },
  testRunId('csig'),
);
const env = { REALSTACK_COVERAGE_SIGNAL: 'SIGWINCH' };
t.teardown(() => realstack(['down']));

t.test(
  'a snapshot taken with SIGWINCH leaves a service that stops on SIGUSR2 running',
  { skip },
  async (t) => {
    exitedZero(t, await realstack(['up', '--coverage'], env), 'up with the spy');
    const snapshot = await realstack(['coverage', 'snapshot'], env);
    t.equal(snapshot.exitCode, 0, snapshot.stderr);
    t.match(snapshot.stderr, 'SIGWINCH sent to web-1');
    const ps = await realstack(['ps']);
    t.match(ps.stdout, /web-1 +running +healthy/, 'the service is still up');
    const harvest = await realstack(['coverage', 'harvest'], env);
    t.equal(harvest.exitCode, 0, harvest.stderr);
    const dumps = readdirSync(path.join(dir, 'coverage', 'raw', 'web-1')).filter((f) =>
      f.startsWith('coverage-'),
    );
    t.equal(dumps.length, 2, "the snapshot's dump and the one at the stop");
  },
);

t.test('a signal that cannot take snapshots is named before anything is sent', async (t) => {
  for (const [signal, why] of [
    ['SIGUSR1', "it opens Node's inspector"],
    ['SIGTERM', 'it ends or stops a process'],
    ['SIGNOPE', 'there is no such signal'],
  ]) {
    const res = await realstack(['coverage', 'snapshot'], { REALSTACK_COVERAGE_SIGNAL: signal as string });
    t.equal(res.exitCode, 2, signal);
    t.match(res.stderr, `REALSTACK_COVERAGE_SIGNAL=${signal} cannot be the coverage snapshot signal: ${why}`);
    t.notOk(hasStackTrace(res.stderr), 'no stack trace');
  }
});
