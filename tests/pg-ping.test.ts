// realstack asks a PostgreSQL whether it accepts connections as pg_isready does, with a startup
// message and no client library (src/stack/pg-ping.ts). Real servers, started by the process
// engine: one that asks for a password, one that trusts every client, one shutting down.
import http from 'node:http';
import net from 'node:net';
import pg from 'pg';
import t from 'tap';
import { pgAccepts } from '../src/stack/pg-ping.js';
import { freePort } from '../src/util/net.js';
import { testRunId } from './helpers/cli.js';
import { processPassOnly } from './helpers/engines.js';
import { instanceOf, leftovers, processPids, readState } from './helpers/leftovers.js';
import { linkedProject } from './helpers/project.js';

const compose = `services:
  guarded:
    image: postgres:16
    environment:
      POSTGRES_USER: shop
      POSTGRES_PASSWORD: s3cret
      POSTGRES_DB: orders
  trusting:
    image: postgres:16
    environment:
      POSTGRES_HOST_AUTH_METHOD: trust
`;

t.test(
  'process engine: a server that asks for a password and one that trusts accept; a wrong database is still an answer; a closed port and an HTTP server do not; a server shutting down does not',
  { skip: processPassOnly() },
  async (t) => {
    const id = testRunId('pgp');
    const { dir, realstack } = linkedProject(t, { 'docker-compose.yml': compose }, id);
    t.teardown(() => realstack(['down']));
    const up = await realstack(['up']);
    t.equal(up.exitCode, 0, up.stderr);
    const ps = JSON.parse((await realstack(['ps', '--json'])).stdout) as {
      services: { name: string; url: string }[];
    };
    const url = (name: string) => ps.services.find((s) => s.name === name)?.url as string;
    const guarded = url('guarded').replace('***', 's3cret');

    t.equal(await pgAccepts(guarded), true, 'asked for a password: it accepts connections');
    t.equal(await pgAccepts(guarded.replace(/\/orders$/, '/no_such_db')), true, 'a wrong database');
    const state = readState(id, dir);
    const guardedDir = instanceOf(state, 'guarded-1')?.dir as string;
    // The engine's server listens on a socket in its folder too (`?host=/dir`, as libpq reads it).
    t.equal(await pgAccepts(`${guarded}?host=${encodeURIComponent(guardedDir)}`), true, 'through its socket');
    // An IPv6 address in brackets is the address: the connection reaches a listener on ::1.
    let reached = false;
    const six = net.createServer((s) => {
      reached = true;
      s.end();
    });
    const listening = await new Promise<boolean>((r) => {
      six.once('error', () => r(false));
      six.listen(0, '::1', () => r(true));
    });
    if (listening) {
      t.teardown(() => six.close());
      const { port } = six.address() as { port: number };
      t.equal(await pgAccepts(`postgres://shop@[::1]:${port}/orders`), false, 'not a database');
      t.ok(reached, 'reached through [::1]');
    }
    for (let i = 0; i < 5; i++) t.equal(await pgAccepts(url('trusting')), true, `trusting, ping ${i + 1}`);
    const log = (await realstack(['logs', 'trusting'])).stdout;
    t.notMatch(
      log,
      /unexpected EOF|could not receive data|incomplete startup packet/,
      'no complaint in its log',
    );

    t.equal(
      await pgAccepts(`postgres://shop@127.0.0.1:${await freePort()}/orders`),
      false,
      'nothing listens',
    );
    const web = http.createServer((_req, res) => res.end('not a database')).listen(0, '127.0.0.1');
    t.teardown(() => web.close());
    await new Promise((r) => web.once('listening', r));
    const { port } = web.address() as { port: number };
    t.equal(await pgAccepts(`postgres://shop@127.0.0.1:${port}/orders`), false, 'an HTTP server');

    // A smart shutdown waits for the sessions open; new ones hear "the database system is
    // shutting down" (57P03), which pg_isready reports as rejecting connections.
    const session = new pg.Client({ connectionString: guarded });
    await session.connect();
    process.kill(instanceOf(state, 'guarded-1')?.pid as number, 'SIGTERM');
    let accepts = true;
    for (let i = 0; i < 100 && accepts; i++) {
      accepts = await pgAccepts(guarded);
      if (accepts) await new Promise((r) => setTimeout(r, 20));
    }
    t.equal(accepts, false, 'shutting down: it does not');
    const { rows } = await session.query<{ one: number }>('SELECT 1 AS one');
    t.equal(rows[0]?.one, 1, 'while the server is there: its open session still answers');
    await session.end();
    t.equal((await realstack(['down'])).exitCode, 0);
    t.same(await leftovers(id, processPids(state), dir), [], 'nothing of the run is left');
  },
);
