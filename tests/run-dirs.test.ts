// Where the process engine keeps a run's files (src/engine/run-dirs.ts): the machine's memory
// (/dev/shm) when it is a tmpfs with room, else the temp dir, or REALSTACK_RUN_DIR; `down` and
// the reaper find them wherever they are.
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { hasStackTrace, testRunId } from './helpers/cli.js';
import { processPassOnly } from './helpers/engines.js';
import { leftovers, readState, runDir } from './helpers/leftovers.js';
import { linkedProject, tinyCompose } from './helpers/project.js';

const skip = processPassOnly();
const postgresCompose = `${tinyCompose}  db:\n    image: postgres:16\n    environment: { POSTGRES_PASSWORD: pw }\n`;
const server = "require('node:http').createServer((q, s) => s.end('{}')).listen(process.env.PORT);\n";
const tmpDirOf = (runId: string, dir: string) => runDir(readState(runId, dir)) ?? '';

t.test(
  'by default, in memory when /dev/shm is a tmpfs with a GiB free, else in the temp dir',
  { skip },
  async (t) => {
    const id = testRunId('rdm');
    const { dir, realstack } = linkedProject(
      t,
      { 'docker-compose.yml': postgresCompose, 'server.cjs': server },
      id,
    );
    t.teardown(() => realstack(['down']));
    const up = await realstack(['up'], { REALSTACK_RUN_DIR: '' });
    t.equal(up.exitCode, 0, up.stderr);
    // Asked of the machine apart from realstack's own check: df's free kilobytes and stat's type.
    const shm = (() => {
      try {
        const type = execFileSync('stat', ['-f', '-c', '%T', '/dev/shm']).toString().trim();
        const free = Number(
          execFileSync('df', ['-k', '--output=avail', '/dev/shm']).toString().split('\n')[1],
        );
        return type === 'tmpfs' && free >= 1024 * 1024;
      } catch {
        return false;
      }
    })();
    const runDir = tmpDirOf(id, dir);
    t.equal(path.dirname(runDir), shm ? '/dev/shm' : os.tmpdir(), `the run's files: ${runDir}`);
    t.ok(
      readdirSync(runDir).some((d) => existsSync(path.join(runDir, d, 'data', 'PG_VERSION'))),
      "PostgreSQL's data is there",
    );
    t.equal((await realstack(['down'])).exitCode, 0);
    t.notOk(existsSync(runDir), 'down removed them');
    t.same(await leftovers(id, [], dir), []);
  },
);

t.test(
  'REALSTACK_RUN_DIR puts them where it says; a folder that is not there is named',
  { skip },
  async (t) => {
    const own = mkdtempSync(path.join(os.tmpdir(), 'realstack-rundir-'));
    // PostgreSQL runs as nobody when the tests run as root: it must reach its data below this.
    chmodSync(own, 0o755);
    t.teardown(() => rmSync(own, { recursive: true, force: true }));
    const id = testRunId('rdo');
    const { dir, realstack } = linkedProject(
      t,
      { 'docker-compose.yml': postgresCompose, 'server.cjs': server },
      id,
    );
    const env = { REALSTACK_RUN_DIR: own };
    t.teardown(() => realstack(['down'], env));
    const up = await realstack(['up'], env);
    t.equal(up.exitCode, 0, up.stderr);
    t.equal(path.dirname(tmpDirOf(id, dir)), own);
    t.equal((await realstack(['down'], env)).exitCode, 0);
    t.same(readdirSync(own), [], 'down removed them');

    const missing = path.join(own, 'nope');
    const refused = await realstack(['up'], { REALSTACK_RUN_DIR: missing });
    t.equal(refused.exitCode, 1);
    t.match(refused.stderr, `REALSTACK_RUN_DIR=${missing} is not a folder this user can write`);
    t.match(refused.stderr, 'unset REALSTACK_RUN_DIR');
    t.notOk(hasStackTrace(refused.stderr), 'no stack trace');
    t.same(await leftovers(id, [], dir), []);
  },
);
