// `just test-cleanup-show` / `just test-cleanup` on real leftovers: test data left on purpose in
// the running services (one renamed, so only the run id can find it) beside records that are
// not test data and must survive; the sqlCleanup a database needs, found in its schema; and the
// reaper on a run killed with SIGKILL. Serial: cleaning up deletes "TEST " data and reaps dead
// runs machine-wide.

import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import t from 'tap';
import { exitedZero, hasStackTrace, just, realstack, root, run, testRunId } from '../helpers/cli.js';
import {
  availableEngines,
  dockerPassOnly,
  dockerSkipReason,
  passEngines,
  processPassOnly,
} from '../helpers/engines.js';
import { crash, leftovers, processPids, readState } from '../helpers/leftovers.js';
import {
  API_RESOURCE,
  authorizeAs,
  authorizeUrl,
  Browser,
  get,
  pkce,
  redeem,
  sendJson,
} from '../helpers/oauth.js';
import { linkedProject, tinyCompose, tinyService, waitingTest } from '../helpers/project.js';
import { queryAt } from '../helpers/sql.js';
import { stack } from '../helpers/stack.js';
import { callAs } from '../helpers/tenant.js';

const s = stack();
const justDo = (...args: string[]) => run(just, args, { cwd: root, env: process.env });
const admin = {
  authorization: `Bearer ${process.env.REALSTACK_ADMIN_TOKEN}`,
  'content-type': 'application/json',
};

/** A person and a client of their own, with an api token: what a test leaves behind. */
async function person(username: string, client: Record<string, unknown>) {
  const password = randomBytes(12).toString('base64url');
  const user = await sendJson('POST', `${s.auth}/admin/users`, { username, password }, admin);
  const registered = await sendJson('POST', `${s.auth}/register`, {
    redirect_uris: ['http://127.0.0.1:8765/callback'],
    token_endpoint_auth_method: 'none',
    grant_types: ['authorization_code', 'refresh_token'],
    ...client,
  });
  const c = registered.json as {
    client_id: string;
    redirect_uris: string[];
    registration_client_uri: string;
    registration_access_token: string;
  };
  const { verifier, challenge } = pkce();
  const back = await authorizeAs(
    new Browser(),
    authorizeUrl(c as never, {
      code_challenge: challenge,
      code_challenge_method: 'S256',
      scope: 'profile organisations:read organisations:write',
      resource: API_RESOURCE,
    }),
    { username, password, id: user.json.id },
  );
  const tokens = await redeem(c as never, back.searchParams.get('code') as string, verifier);
  return { sub: user.json.id as string, client: c, token: tokens.json.access_token as string };
}

interface Listing {
  testData: {
    service: string;
    records: Record<string, { id: string; name: string; detail?: Record<string, number> }[]>;
  }[];
  runs: { runId: string; dead: boolean; reason: string; resources: string[] }[];
}

t.test(
  'test-cleanup-show finds a run’s leftovers, renamed ones too; test-cleanup removes them and nothing else',
  async (t) => {
    const left = testRunId('left');
    // Leftovers on purpose: nothing here deletes them in teardown; `just test-cleanup` must.
    const leaver = await person(`TEST_${left}_w0_leaver`, {
      client_name: `TEST ${left} w0 leaver's client`,
      software_id: `TEST ${left}`,
    });
    const renamedClient = await sendJson(
      'PUT',
      leaver.client.registration_client_uri,
      {
        client_id: leaver.client.client_id,
        client_name: 'Renamed during a test',
        software_id: `TEST ${left}`,
        redirect_uris: leaver.client.redirect_uris,
        token_endpoint_auth_method: 'none',
        grant_types: ['authorization_code', 'refresh_token'],
      },
      { authorization: `Bearer ${leaver.client.registration_access_token}` },
    );
    t.equal(renamedClient.status, 200, 'the client renamed: no "TEST " in its name any more');
    const org = await callAs(leaver.token, 'POST', '/v1/organisations', { name: `TEST ${left} w0 leftover` });
    await callAs(leaver.token, 'PATCH', `/v1/organisations/${org.json.id}`, { name: 'Renamed organisation' });
    await callAs(leaver.token, 'PUT', '/v1/active-organisation', { id: org.json.id });
    await callAs(leaver.token, 'POST', '/v1/registers', { name: 'left register' });
    // Invited, never signed in: the api knows them only by their auth id.
    const ghost = await sendJson(
      'POST',
      `${s.auth}/admin/users`,
      { username: `TEST_${left}_w0_ghost`, password: randomBytes(12).toString('base64url') },
      admin,
    );
    await callAs(leaver.token, 'POST', `/v1/organisations/${org.json.id}/members`, {
      user: ghost.json.id,
      role: 'member',
    });

    // Not test data: a person, their client and their organisation, named like anyone's.
    const keeper = await person(`keeper_${left}`, { client_name: `Keeper ${left}` });
    const kept = await callAs(keeper.token, 'POST', '/v1/organisations', { name: `Keeper ${left}` });
    t.teardown(async () => {
      await callAs(keeper.token, 'DELETE', `/v1/organisations/${kept.json.id}`);
      await sendJson('DELETE', keeper.client.registration_client_uri, undefined, {
        authorization: `Bearer ${keeper.client.registration_access_token}`,
      });
      await sendJson('DELETE', `${s.auth}/admin/users/keeper_${left}`, undefined, {
        authorization: admin.authorization,
      });
    });

    const show = await justDo('test-cleanup-show', '--run', left, '--json');
    t.equal(show.exitCode, 0, show.stderr);
    const listing = JSON.parse(show.stdout) as Listing;
    const auth = listing.testData.find((x) => x.service === 'auth')?.records ?? {};
    const api = listing.testData.find((x) => x.service === 'api')?.records ?? {};
    t.same(
      auth.clients?.map((c) => [c.id, c.name]),
      [[leaver.client.client_id, 'Renamed during a test']],
      'the renamed client, found by its software_id',
    );
    t.ok((auth.clients?.[0]?.detail?.['access tokens'] ?? 0) >= 1, 'with its access token');
    t.ok((auth.clients?.[0]?.detail?.['refresh tokens'] ?? 0) >= 1, 'and refresh token');
    t.same(auth.users?.map((u) => u.name).sort(), [`TEST_${left}_w0_ghost`, `TEST_${left}_w0_leaver`]);
    t.same(
      api.organisations?.map((o) => [o.id, o.name, o.detail?.registers]),
      [[org.json.id, 'Renamed organisation', 1]],
      'the renamed organisation, found by its owner, with its register',
    );
    t.same(api.users?.map((u) => u.id).sort(), [ghost.json.id as string, leaver.sub].sort());

    const human = await justDo('test-cleanup-show', '--run', left);
    t.match(
      human.stdout,
      /auth \(its test-data API\):\n {4}clients: 1\n {6}Renamed during a test/,
      'a list a person can read',
    );

    const clean = await justDo('test-cleanup', '--run', left);
    t.equal(clean.exitCode, 0, clean.stderr);
    t.match(clean.stderr, /removed from auth: 1 clients, 2 users, [2-9]\d* tokens/);
    t.match(
      clean.stderr,
      /removed from api: 1 organisations, 0 objects, 0 registers in the default organisation, 0 schemas in the default organisation, 2 users/,
    );
    t.match(clean.stderr, /0 test records left in 2 services looked at/);
    const after = JSON.parse((await justDo('test-cleanup-show', '--run', left, '--json')).stdout) as Listing;
    t.same(
      after.testData.map((x) => Object.values(x.records).flat().length),
      [0, 0],
      'nothing of the run is left',
    );
    t.equal(
      (await callAs(leaver.token, 'GET', '/v1/me')).status,
      401,
      "the leftover client's token is gone too",
    );

    t.equal(
      (await callAs(keeper.token, 'GET', `/v1/organisations/${kept.json.id}`)).status,
      200,
      'the keeper’s organisation survives',
    );
    t.equal(
      (
        await get(keeper.client.registration_client_uri, {
          authorization: `Bearer ${keeper.client.registration_access_token}`,
        })
      ).status,
      200,
      'the keeper’s client survives',
    );
  },
);

t.test('test-cleanup without a stack to ask, and with bad options, says so plainly', async (t) => {
  const noStack = await realstack(['cleanup', '--show'], { REALSTACK_RUN_ID: 'nosuchrun' });
  t.equal(noStack.exitCode, 0);
  t.match(noStack.stderr, 'test data: no run "nosuchrun" is known');
  const age = await realstack(['cleanup', '--show', '--older-than', 'soon']);
  t.equal(age.exitCode, 2);
  t.match(age.stderr, '--older-than soon: write a number with m, h or d');
  const badRun = await realstack(['cleanup', '--run', 'a b']);
  t.equal(badRun.exitCode, 2);
  const token = await realstack(['cleanup', '--show'], { REALSTACK_ADMIN_TOKEN: 'wrong' });
  t.equal(token.exitCode, 1);
  t.match(token.stderr, 'auth refused REALSTACK_ADMIN_TOKEN: it is not the value this stack started with');
  for (const r of [noStack, age, badRun, token]) t.notOk(hasStackTrace(r.stderr));
});

for (const engine of await passEngines()) {
  t.test(`${engine}: a run killed with SIGKILL is found dead by test-cleanup-show and reaped`, async (t) => {
    const id = testRunId(`reap${engine.slice(0, 1)}`);
    const marker = path.join(os.tmpdir(), `realstack-marker-${id}`);
    t.teardown(() => rmSync(marker, { force: true }));
    const child = run(process.execPath, ['bin/realstack.js', 'test', 'tests/fixtures/waits.fixture.ts'], {
      cwd: root,
      env: { REALSTACK_ENGINE: engine, REALSTACK_RUN_ID: id, REALSTACK_TEST_MARKER: marker },
    });
    for (let i = 0; i < 1200 && !existsSync(marker); i++) await sleep(100);
    t.ok(existsSync(marker), 'the run is up and its test is running');
    const pids = processPids(readState(id));
    await crash(child, marker);
    t.ok((await leftovers(id, pids)).length > 0, 'the killed run left its stack behind');

    const show = await realstack(['cleanup', '--show', '--json']);
    const verdict = (JSON.parse(show.stdout) as Listing).runs.find((r) => r.runId === id);
    t.equal(verdict?.dead, true, 'listed as dead');
    t.match(verdict?.reason, /its owner, process \d+, is gone/);
    t.ok(
      verdict?.resources.some((r) => (engine === 'docker' ? /containers/ : /temp dir/).test(r)),
      verdict?.resources.join(', ') ?? 'none',
    );
    const suite = (JSON.parse(show.stdout) as Listing).runs.find((r) => r.runId === s.runId);
    t.equal(suite?.dead, false, 'the suite’s own run is alive and left alone');

    if (engine === 'docker') {
      const reap = await realstack(['cleanup']);
      t.equal(reap.exitCode, 0, reap.stderr);
      t.match(reap.stderr, `reaping run ${id}: its owner`, 'test-cleanup reaps it');
    } else {
      // Or the next run that starts a stack does, before it starts.
      const next = { REALSTACK_ENGINE: engine, REALSTACK_RUN_ID: testRunId('next') };
      const up = await realstack(['up'], next);
      t.teardown(() => realstack(['down'], next));
      t.equal(up.exitCode, 0, up.stderr);
      t.match(up.stderr, `reaping run ${id}: its owner`, 'the next `up` reaps it');
    }
    t.same(await leftovers(id, pids), [], 'no process, container, temp dir or state of it is left');
  });
}

t.test(
  'process: a dead run of another project is reaped from here by its temp dir, at the first try',
  { skip: processPassOnly() },
  async (t) => {
    const id = testRunId('reapx');
    const marker = path.join(os.tmpdir(), `realstack-marker-${id}`);
    t.teardown(() => rmSync(marker, { force: true }));
    const { dir, realstack: inProject } = linkedProject(
      t,
      {
        'docker-compose.yml': `${tinyCompose}  db:\n    image: postgres:16\n    environment: { POSTGRES_PASSWORD: x }\n`,
        'server.cjs': tinyService(),
        'package.json': '{"name":"elsewhere","private":true}',
        'test/waits.test.mjs': waitingTest,
      },
      id,
    );
    const child = inProject(['test'], { REALSTACK_TEST_MARKER: marker });
    for (let i = 0; i < 1200 && !existsSync(marker); i++) await sleep(100);
    t.ok(existsSync(marker), "the other project's run is up and its test is running");
    const pids = processPids(readState(id, dir));
    await crash(child, marker);

    // This checkout has no state of that run: it kills the services and removes the temp dir,
    // after their runners have recorded the kill (removing it sooner raced their last write).
    const reap = await realstack(['cleanup']);
    t.equal(reap.exitCode, 0, reap.stderr);
    t.match(reap.stderr, `reaping run ${id}: its owner`);
    t.notMatch(reap.stderr, 'could not be removed', 'removed at the first try');
    t.same(await leftovers(id, pids), [], 'no process or temp dir of it is left');
  },
);

t.test(
  'docker: the images no run will use again, a replaced build and the image of a project that is gone (two services built from one Dockerfile: one image, two tags), are removed by test-cleanup; one a container uses is not',
  { skip: dockerPassOnly() || (!(await availableEngines()).includes('docker') && dockerSkipReason) },
  async (t) => {
    const id = testRunId('img');
    const files = {
      'docker-compose.yml':
        'services:\n  web:\n    build: .\n    ports: ["8080"]\n    environment: { PORT: "8080", HOST: 0.0.0.0 }\n' +
        '  web2:\n    build: .\n    ports: ["8081"]\n    environment: { PORT: "8081", HOST: 0.0.0.0 }\n',
      Dockerfile: 'FROM node:20-slim\nWORKDIR /srv\nCOPY server.cjs .\nCMD ["node", "server.cjs"]\n',
      '.dockerignore': 'node_modules\n.realstack\n',
      'server.cjs': tinyService(),
      'package.json': '{"name":"gone-soon","private":true}',
    };
    const { dir, realstack: inProject } = linkedProject(t, files, id);
    const docker = { REALSTACK_ENGINE: 'docker' };
    t.teardown(() => inProject(['down'], docker));
    const imageId = async () => {
      const tag = Object.values(
        (JSON.parse(readFileSync(path.join(dir, '.realstack/images.json'), 'utf8')) as ImagesJson).run.images,
      )[0];
      return (await run('docker', ['image', 'inspect', '-f', '{{.Id}}', tag as string])).stdout.trim();
    };
    t.equal((await inProject(['images'], docker)).exitCode, 0);
    const replaced = await imageId();
    writeFileSync(path.join(dir, 'server.cjs'), tinyService('    // changed\n'));
    t.equal((await inProject(['images'], docker)).exitCode, 0);
    const current = await imageId();
    t.not(current, replaced, 'a changed source builds anew; the last build loses its tag');
    exitedZero(t, await inProject(['up'], docker), 'up');

    const listed = async () => {
      const show = await realstack(['cleanup', '--show', '--json', '--run', id]);
      return (JSON.parse(show.stdout) as { images: { id: string; why: string; tags: string[] }[] }).images;
    };
    const mine = (images: { id: string; why: string }[]) =>
      images.filter((i) => i.id === replaced || i.id === current).map((i) => [i.id, i.why]);
    t.same(
      mine(await listed()),
      [[replaced, 'replaced by a newer build under its tag']],
      'the replaced build is listed; the one a container runs is not',
    );
    t.equal((await inProject(['down'], docker)).exitCode, 0);
    rmSync(dir, { recursive: true, force: true });
    const gone = await listed();
    t.equal(
      gone.find((i) => i.id === current)?.tags.length,
      2,
      'web and web2 share the one image, under two tags',
    );
    t.same(
      mine(gone),
      [
        [current, `its project ${dir} is gone`],
        [replaced, 'replaced by a newer build under its tag'],
      ],
      'once the project folder is gone, its image is listed too',
    );
    const clean = await realstack(['cleanup', '--run', id]);
    t.equal(clean.exitCode, 0, clean.stderr);
    t.match(clean.stderr, /removed \d+ images? no run will use again/);
    for (const image of [replaced, current])
      t.not((await run('docker', ['image', 'inspect', image])).exitCode, 0, `${image.slice(7, 19)} is gone`);
    t.notOk(hasStackTrace(clean.stderr), 'no stack trace');
  },
);

// A PostgreSQL service that realstack.json gives no `sqlCleanup`: `cleanup --show` reads its schema,
// names the text columns that hold test names and the entry to write, and deletes nothing;
// written as it says (no restart), `cleanup` deletes those rows and keeps the rest.
t.test(
  'process: cleanup names the sqlCleanup a database with test rows needs, from its schema',
  { skip: processPassOnly() },
  async (t) => {
    const id = testRunId('sqf');
    const { dir, realstack } = linkedProject(
      t,
      {
        'docker-compose.yml': `services:
  db:
    image: postgres:16
    environment: { POSTGRES_PASSWORD: pw, POSTGRES_DB: todos }
    volumes: ["./init:/docker-entrypoint-initdb.d:ro"]
`,
        'init/schema.sql': `CREATE TABLE todos (id serial PRIMARY KEY, title text NOT NULL, done boolean DEFAULT false);
CREATE SCHEMA audit;
CREATE TABLE audit.log (id serial PRIMARY KEY, message varchar(200));
`,
      },
      id,
    );
    t.teardown(() => realstack(['down']));
    exitedZero(t, await realstack(['up']), 'up');
    const ps = JSON.parse((await realstack(['ps', '--json'])).stdout) as { services: { url: string }[] };
    const url = new URL(ps.services[0]?.url as string);
    url.password = 'pw';
    const sql = (text: string) => queryAt(url, text);
    await sql("INSERT INTO todos (title) VALUES ('TEST buy milk'), ('keep me')");
    await sql("INSERT INTO audit.log (message) VALUES ('TEST created a todo')");

    const show = await realstack(['cleanup', '--show']);
    t.equal(show.exitCode, 0, show.stderr);
    const entry =
      '"sqlCleanup": [{"table":"audit.log","column":"message"},{"table":"todos","column":"title"}]';
    t.match(show.stdout, 'test names are in audit.log.message (1 row), todos.title (1 row)');
    t.match(show.stdout, entry, 'the entry to write, from the schema');
    t.match(show.stdout, '0 records in all; found, but not declared: db (2)');
    t.notOk(hasStackTrace(show.stderr), 'no stack trace');

    const untouched = await realstack(['cleanup']);
    t.match(untouched.stderr, 'not cleaned: realstack.json declares no "sqlCleanup"');
    t.equal((await sql('SELECT count(*)::int AS n FROM todos'))[0]?.n, 2, 'nothing deleted unasked');

    writeFileSync(
      path.join(dir, 'realstack.json'),
      JSON.stringify({ services: { db: JSON.parse(`{${entry}}`) } }),
    );
    const clean = await realstack(['cleanup']);
    t.equal(clean.exitCode, 0, clean.stderr);
    t.match(clean.stderr, 'removed from db: 1 audit.log, 1 todos');
    t.same(await sql('SELECT title FROM todos UNION ALL SELECT message FROM audit.log'), [
      { title: 'keep me' },
    ]);
    t.equal((await realstack(['down'])).exitCode, 0);
    t.same(await leftovers(id, [], dir), []);
  },
);

interface ImagesJson {
  run: { images: Record<string, string> };
}
