// biome-ignore-all lint/suspicious/noTemplateCurlyInString: the strings are shell commands under test
import t from 'tap';
import { answeredByProbe, type ProbeTarget } from '../src/engine/known-checks.js';

// Which of a container's health checks realstack's probe already answered: the probe passed, so
// the check would pass, and realstack need not run it (src/engine/health-now.ts). A check this
// says yes to wrongly would make `up` say ready where Docker never would, so every form it does
// not know, or knows to differ, must come back undefined. The docker half (no exec in the
// container, a check whose program the image lacks) is in tests/stand-ins.test.ts.

const pg: ProbeTarget = { role: 'postgres', port: 5432, path: undefined };
const web: ProbeTarget = { role: 'node', port: 3000, path: '/health' };
const NODE_20 = { NODE_VERSION: '20.20.2' };
const shell = (command: string) => ['CMD-SHELL', command];

t.test('pg_isready: PQping, as realstack asks it over the published port', async (t) => {
  t.same(answeredByProbe(shell('pg_isready -U realstack -d realstack -h 127.0.0.1'), pg, {}), [
    '/bin/sh',
    'pg_isready',
  ]);
  t.same(answeredByProbe(['CMD', 'pg_isready'], pg, {}), ['pg_isready'], 'exec form: no shell');
  // compose turns `$${POSTGRES_USER}` into `${POSTGRES_USER}`, which the shell takes from the
  // container's environment. The user and database do not change PQping's answer (a refused
  // login is still a server accepting connections); a connection string in -d would.
  const official = { POSTGRES_USER: 'app', POSTGRES_DB: 'app' };
  t.ok(answeredByProbe(shell('pg_isready -U ${POSTGRES_USER} -d "$POSTGRES_DB"'), pg, official));
  t.notOk(
    answeredByProbe(shell('pg_isready -d $POSTGRES_DB'), pg, {}),
    'a database the environment does not say',
  );
  t.notOk(
    answeredByProbe(shell('pg_isready -d "$DSN"'), pg, { DSN: 'host=db dbname=app' }),
    'a variable that holds a connection string',
  );
  t.ok(answeredByProbe(shell('pg_isready --host=localhost --port 5432 -q -t 3'), pg, {}));
  t.ok(answeredByProbe(shell('pg_isready -Upostgres || exit 1'), pg, {}), '|| exit 1 changes nothing');
  t.ok(answeredByProbe(['CMD', '/usr/lib/postgresql/15/bin/pg_isready'], pg, {}), 'a path to it');

  t.notOk(answeredByProbe(shell('pg_isready -h db'), pg, {}), 'another host');
  t.notOk(answeredByProbe(shell('pg_isready -h $HOST'), pg, {}), 'a host the shell chooses');
  t.notOk(answeredByProbe(shell('pg_isready -p 5433'), pg, {}), 'another port');
  t.notOk(answeredByProbe(shell('pg_isready -d postgres://x@db/y'), pg, {}), 'a URL in -d');
  t.notOk(answeredByProbe(shell('pg_isready -d "host=db dbname=y"'), pg, {}), 'a connection string in -d');
  t.notOk(answeredByProbe(shell('pg_isready -t 0'), pg, {}), 'no timeout: it may wait for ever');
  t.notOk(answeredByProbe(shell('pg_isready'), pg, { PGHOST: 'db' }), 'PGHOST names another server');
  t.notOk(answeredByProbe(shell('pg_isready'), pg, { PGPORT: '6432' }), 'PGPORT');
  t.notOk(answeredByProbe(shell('pg_isready && psql -c "select 1"'), pg, {}), 'a second command');
  t.notOk(answeredByProbe(shell('pg_isready; true'), pg, {}));
  t.notOk(answeredByProbe(shell('pg_isready -U $(whoami)'), pg, {}), 'a command substitution');
  t.notOk(answeredByProbe(shell('pg_isready --version'), pg, {}), 'an option it is not known to take here');
  t.notOk(answeredByProbe(shell('pg_isready'), web, {}), 'not a PostgreSQL service: not probed as one');
  t.notOk(answeredByProbe(shell('pg_isready'), { ...pg, port: 5433 }, {}), 'the probe reached another port');
});

t.test('curl and wget: a GET of the health path on the port the probe had a 2xx from', async (t) => {
  t.same(answeredByProbe(['CMD', 'curl', '-f', 'http://localhost:3000/health'], web, {}), ['curl']);
  t.ok(answeredByProbe(shell('curl -fsS http://127.0.0.1:3000/health || exit 1'), web, {}));
  t.ok(answeredByProbe(shell('curl --fail --silent -o /dev/null http://localhost:3000/health'), web, {}));
  t.ok(
    answeredByProbe(shell('curl http://localhost:3000/health'), web, {}),
    'without --fail: any answer passes',
  );
  t.ok(
    answeredByProbe(shell('curl -fsm 2 http://localhost:3000/health'), web, {}),
    'a cluster ending in a value',
  );
  t.same(answeredByProbe(shell('wget -qO- http://127.0.0.1:3000/health'), web, {}), ['/bin/sh', 'wget']);
  t.ok(answeredByProbe(shell('wget -q -O /dev/null --tries=1 http://127.0.0.1:3000/health'), web, {}));

  t.notOk(answeredByProbe(shell('curl -f http://localhost:3000/ready'), web, {}), 'another path');
  t.notOk(answeredByProbe(shell('curl -f http://localhost:3000/health?deep=1'), web, {}), 'a query');
  t.notOk(answeredByProbe(shell('curl -f http://localhost:8080/health'), web, {}), 'another port');
  t.notOk(answeredByProbe(shell('curl -f http://localhost/health'), web, {}), 'port 80');
  t.notOk(answeredByProbe(shell('curl -f http://api:3000/health'), web, {}), 'another host');
  t.notOk(answeredByProbe(shell('curl -f https://localhost:3000/health'), web, {}), 'https');
  t.notOk(
    answeredByProbe(shell('curl -f http://localhost:$PORT/health'), web, {}),
    'a port the shell does not know',
  );
  t.ok(
    answeredByProbe(shell('curl -f http://localhost:${PORT}/health'), web, { PORT: '3000' }),
    'PORT from the container',
  );
  t.notOk(answeredByProbe(shell('curl -fI http://localhost:3000/health'), web, {}), 'HEAD');
  t.notOk(answeredByProbe(shell('curl -X POST http://localhost:3000/health'), web, {}));
  t.notOk(answeredByProbe(shell('curl -o /tmp/h http://localhost:3000/health'), web, {}), 'writes a file');
  t.notOk(answeredByProbe(shell('curl -f http://localhost:3000/health | grep ok'), web, {}), 'a pipe');
  t.notOk(
    answeredByProbe(shell('curl -f http://localhost:3000/health'), web, { http_proxy: 'http://p:3128' }),
  );
  t.notOk(
    answeredByProbe(shell('wget --spider -q http://127.0.0.1:3000/health'), web, {}),
    '--spider is a HEAD',
  );
  t.notOk(
    answeredByProbe(shell('wget -qO- http://localhost:3000/health'), web, {}),
    "busybox's localhost may be ::1",
  );
  t.notOk(answeredByProbe(shell('wget -q http://127.0.0.1:3000/health'), web, {}), 'writes ./health');
  t.notOk(
    answeredByProbe(shell('curl -f http://localhost:3000/health'), { ...web, path: undefined }, {}),
    'the probe saw the port answer, not the path',
  );
});

t.test("node -e fetch(...): the reference stack's check", async (t) => {
  const check = [
    'CMD',
    'env',
    '-u',
    'NODE_OPTIONS',
    '-u',
    'NODE_V8_COVERAGE',
    'node',
    '-e',
    "fetch('http://127.0.0.1:3000/health').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))",
  ];
  t.same(answeredByProbe(check, web, NODE_20), ['env', 'node']);
  const node = (code: string, env: Record<string, string> = NODE_20) =>
    answeredByProbe(['CMD', 'node', '-e', code], web, env);
  t.ok(node('fetch("http://127.0.0.1:3000/health").then((res) => process.exit(res.ok ? 0 : 1))'));
  t.ok(
    node(
      "fetch('http://127.0.0.1:3000/health').then(r => process.exit(r.ok ? 0 : 1)).catch(() => process.exit(1));",
    ),
  );

  t.notOk(
    node("fetch('http://127.0.0.1:3000/health').then(r => process.exit(r.status === 200 ? 0 : 1))"),
    '200 only',
  );
  t.notOk(
    node("fetch('http://127.0.0.1:3000/health').then(r => process.exit(0))"),
    'any answer, the code differs',
  );
  t.notOk(node("fetch('http://localhost:3000/health').then(r => process.exit(r.ok ? 0 : 1))"), 'localhost');
  t.notOk(
    node("fetch('http://127.0.0.1:3000/health').then(r => process.exit(r.ok ? 0 : 1))", {}),
    'no version said',
  );
  t.notOk(
    node("fetch('http://127.0.0.1:3000/health').then(r => process.exit(r.ok ? 0 : 1))", {
      NODE_VERSION: '16.20.2',
    }),
    'Node 16 has no fetch',
  );
  t.notOk(answeredByProbe(['CMD', 'node', 'healthcheck.js'], web, NODE_20), 'a script of its own');
  t.notOk(answeredByProbe(['CMD', 'env', 'X=1', 'node', '-e', 'fetch()'], web, NODE_20));
});

t.test('what is not a check realstack knows', async (t) => {
  t.notOk(answeredByProbe(undefined, web, {}));
  t.notOk(answeredByProbe(['NONE'], web, {}));
  t.notOk(answeredByProbe(['CMD-SHELL', ''], web, {}));
  t.notOk(answeredByProbe(['CMD', 'test', '-f', '/tmp/ready'], web, {}));
  t.notOk(
    answeredByProbe(shell('$CHECK http://localhost:3000/health'), web, {}),
    'a program the shell chooses',
  );
  t.notOk(answeredByProbe(shell('curl -f "http://localhost:3000/health'), web, {}), 'an unclosed quote');
});
