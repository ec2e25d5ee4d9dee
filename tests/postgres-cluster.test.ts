import { execFileSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import t, { type Test } from 'tap';
import { unprivilegedUser } from '../src/engine/postgres-binaries.js';
import { pruneTemplates, templateRoot } from '../src/engine/postgres-cluster.js';
import { exitedZero, testRunId } from './helpers/cli.js';
import { processPassOnly } from './helpers/engines.js';
import { leftovers, processPids, readState, runDir } from './helpers/leftovers.js';
import { linkedProject } from './helpers/project.js';

// The process engine copies each run's PostgreSQL cluster from a template made once
// (src/engine/postgres-cluster.ts): a run must still get the database the compose file
// names, its init scripts run, and nothing another run wrote.
const compose = `services:
  shopdb:
    image: postgres:16
    environment:
      POSTGRES_USER: shop
      POSTGRES_PASSWORD: "s3cret \\"quoted\\""
      POSTGRES_DB: shop-orders
    volumes:
      - ./db/init:/docker-entrypoint-initdb.d:ro
`;
const init = `CREATE TABLE items (name text PRIMARY KEY);
INSERT INTO items VALUES ('from the init script');
`;

t.test(
  'process engine: every run gets a new cluster with its database, its init scripts run, nothing of an earlier run',
  { skip: processPassOnly() },
  async (t) => {
    const id = testRunId('pgc');
    const { realstack } = linkedProject(
      t,
      { 'docker-compose.yml': compose, 'db/init/01-items.sql': init, 'package.json': '{"name":"shop"}' },
      id,
    );
    const items = async () => {
      const ps = JSON.parse((await realstack(['ps', '--json'])).stdout) as {
        services: { name: string; url: string }[];
      };
      const url = ps.services.find((s) => s.name === 'shopdb')?.url as string;
      t.match(url, /\/shop-orders$/, "the URL names the compose file's database");
      const client = new pg.Client({
        connectionString: url.replace('***', encodeURIComponent('s3cret "quoted"')),
      });
      await client.connect();
      try {
        const names = (await client.query<{ name: string }>('SELECT name FROM items ORDER BY name')).rows;
        await client.query("INSERT INTO items VALUES ('written by the test')");
        return names.map((r) => r.name);
      } finally {
        await client.end();
      }
    };
    t.teardown(() => realstack(['down']));

    for (const round of ['first', 'second']) {
      const up = await realstack(['up']);
      t.equal(up.exitCode, 0, `${round} up succeeds`);
      t.same(await items(), ['from the init script'], `${round} run: the init script's row, and no other`);
      t.equal((await realstack(['down'])).exitCode, 0, `${round} down`);
    }
    const marks = readdirSync(templateRoot()).filter((d) => /^realstack-pgdata-[0-9a-f]{16}\.json$/.test(d));
    t.ok(marks.length > 0, 'the template cluster is kept for the next run');
    t.ok(
      marks.some((m) => existsSync(JSON.parse(readFileSync(path.join(templateRoot(), m), 'utf8')).postgres)),
      'beside it, the PostgreSQL build that made it',
    );
  },
);

t.test(
  'process engine: a PostgreSQL killed outright leaves no shared memory behind once the run is down',
  { skip: processPassOnly() },
  async (t) => {
    const id = testRunId('pgk');
    const { dir, realstack } = linkedProject(
      t,
      { 'docker-compose.yml': compose, 'package.json': '{"name":"shop"}' },
      id,
    );
    t.teardown(() => realstack(['down']));
    exitedZero(t, await realstack(['up']), 'up succeeds');
    const postmaster = processPids(readState(id, dir))[1] as number;
    const mapped = (where: RegExp) =>
      readFileSync(`/proc/${postmaster}/maps`, 'utf8')
        .split('\n')
        .map((line) => line.split(/\s+/)[5] ?? '')
        .filter((file) => where.test(file));
    // Its dynamic shared memory is made at start, for the stats and the parallel workers' use.
    t.ok(mapped(/\/pg_dynshmem\//).length > 0, 'its segments are files of its data directory');
    // The run's own folder may be in /dev/shm too (src/engine/run-dirs.ts): down removes that.
    const own = runDir(readState(id, dir)) ?? '?';
    const shm = mapped(/^\/dev\/shm\//).filter((f) => !f.startsWith(`${own}/`));
    t.same(
      shm,
      [],
      "none loose in /dev/shm, which nothing would clean after a kill (PostgreSQL's own default)",
    );
    process.kill(postmaster, 'SIGKILL');
    t.equal((await realstack(['down'])).exitCode, 0, 'down after the kill');
    t.same(await leftovers(id, [], dir), [], 'nothing of the run is left');
    t.same(
      shm.filter((f) => existsSync(f)),
      [],
      'nor any segment it had',
    );
  },
);

/**
 * A folder of its own for pruneTemplates, with a PostgreSQL build in it: `template` makes one
 * used `minutesAgo`, with a mark (`ours`: made by that build) or without (an earlier realstack's).
 */
function templateFolder(t: Test) {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'realstack-prune-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const now = Date.now();
  const postgres = path.join(dir, 'bin', 'postgres');
  mkdirSync(path.dirname(postgres));
  writeFileSync(postgres, 'the build');
  const { size, mtimeMs } = { size: 9, mtimeMs: Math.floor(now / 1000) * 1000 };
  utimesSync(postgres, new Date(mtimeMs), new Date(mtimeMs));
  const template = (key: string, minutesAgo: number, mark?: object) => {
    const folder = path.join(dir, `realstack-pgdata-${key}`);
    mkdirSync(folder);
    writeFileSync(path.join(folder, 'PG_VERSION'), '16\n');
    const at = new Date(now - minutesAgo * 60_000);
    if (mark) {
      writeFileSync(`${folder}.json`, JSON.stringify(mark));
      utimesSync(`${folder}.json`, at, at);
    }
    utimesSync(folder, at, at);
    return `realstack-pgdata-${key}`;
  };
  const key = (n: number) => n.toString(16).padStart(16, '0');
  return { dir, now, template, ours: { postgres, size, mtimeMs }, key };
}

t.test(
  'templates are bounded: those no build can want go, then all but the 4 last used, except any used in the last 10 minutes',
  (t) => {
    const { dir, now, template, ours, key } = templateFolder(t);
    // Used 0 to 8 minutes ago: the 4 last used, and five used within the 10 minutes.
    const recent = Array.from({ length: 9 }, (_, i) => template(key(i), i, ours));
    const stale = [
      template(key(100), 30, ours),
      template(key(101), 0, { ...ours, postgres: path.join(dir, 'gone', 'postgres') }),
      template(key(102), 0, { ...ours, size: ours.size + 1 }),
      // Made by an earlier realstack: no mark, the folder's own age.
      template(key(103), 120),
      // An initdb's work folder, never finished.
      template(`${key(104)}.Ab12Cd`, 60),
    ];
    const working = template(`${key(105)}.Zx98Yw`, 0);
    mkdirSync(path.join(dir, 'realstack-pgdata-of-someone-else'));

    const removed = pruneTemplates(dir, now).map((f) => path.basename(f));
    t.same(
      removed.sort(),
      [...stale].sort(),
      'removed: the orphaned, the replaced, the unused beyond 4, the old',
    );
    t.same(
      readdirSync(dir)
        .filter((d) => d.startsWith('realstack-pgdata-') && !d.endsWith('.json'))
        .sort(),
      [...recent, working, 'realstack-pgdata-of-someone-else'].sort(),
      'kept: the last used, an initdb at work, and what is not a template',
    );
    t.notOk(existsSync(path.join(dir, `${stale[0]}.json`)), 'a removed template takes its mark along');
    t.end();
  },
);

t.test(
  'as root, PostgreSQL runs as nobody: the user and group `id` names, read without running it',
  { skip: process.getuid?.() === 0 ? false : 'not root: PostgreSQL runs as this user' },
  (t) => {
    const id = (flag: string) => Number(execFileSync('id', [flag, 'nobody'], { encoding: 'utf8' }));
    t.same(unprivilegedUser(), { uid: id('-u'), gid: id('-g') });
    t.end();
  },
);

t.test('past the last 10 minutes, exactly the 4 last used templates stay', (t) => {
  const { dir, now, template, ours, key } = templateFolder(t);
  const made = Array.from({ length: 5 }, (_, i) => template(key(i), 20 + i, ours));
  t.same(
    pruneTemplates(dir, now).map((f) => path.basename(f)),
    [made[4]],
    'the fifth, used 24 minutes ago, goes',
  );
  t.end();
});
