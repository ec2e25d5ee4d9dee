import { chmodSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import t from 'tap';
import { hasStackTrace, testRunId } from './helpers/cli.js';
import { passEngines, processPassOnly } from './helpers/engines.js';
import { leftovers } from './helpers/leftovers.js';
import { linkedProject } from './helpers/project.js';
import { queryAt } from './helpers/sql.js';

// The official postgres image's contract, as users' compose files lean on it: the password from
// a secret's file (POSTGRES_PASSWORD_FILE), a database that asks for no password
// (POSTGRES_HOST_AUTH_METHOD=trust), initdb's arguments and the time zone it records
// (POSTGRES_INITDB_ARGS, TZ), the image's postgres account by name or number (`user:`), a command of postgres flags only, and the init scripts, .sql and
// .sql.gz (and, in the image, .sh, run or sourced). The stand-in (images/postgres) and the process
// engine (src/stack/postgres-settings.ts) both keep it; both copy a ready-made cluster where
// initdb would make the same one, so each service here takes another path to its cluster.
const compose = `services:
  shop:
    image: postgres:16
    command: -c max_connections=42
    environment:
      POSTGRES_USER: shop
      POSTGRES_PASSWORD_FILE: /run/secrets/shop_password
      POSTGRES_DB: orders
    secrets: [shop_password]
    ports: ["5432"]
    healthcheck:
      test: ["CMD-SHELL", "pg_isready -U shop -d orders"]
      interval: 30s
    volumes:
      - ./init:/docker-entrypoint-initdb.d:ro
  open:
    image: postgres:16
    user: postgres
    environment:
      POSTGRES_HOST_AUTH_METHOD: trust
  tuned:
    image: postgres:16
    user: "999:999"
    environment:
      POSTGRES_PASSWORD: tuned
      POSTGRES_INITDB_ARGS: --data-checksums
      TZ: Europe/Paris
    ports: ["5432"]
secrets:
  shop_password:
    file: ./shop_password.txt
`;

const files = {
  'docker-compose.yml': compose,
  'package.json': '{"name":"shop","private":true}',
  'shop_password.txt': 'from the secret\n',
  'init/01-schema.sql': 'CREATE TABLE items (name text PRIMARY KEY, n serial);\n',
  'init/README.md': 'Not a script: the image ignores it.\n',
};
// Run by the image only: the process engine has no shell of the image's (it refuses them by name).
const shellScripts = {
  // Executable: run. It reads the settings the image exports to its scripts.
  'init/03-run.sh': `#!/bin/bash
set -e
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" -c "INSERT INTO items (name) VALUES ('from an executable script')"
`,
  // Not executable: sourced by the entrypoint's bash. Slow: the health check (pg_isready on the
  // usual socket) must not pass while the scripts run, or the rows would not all be there.
  'init/04-sourced.sh': `if [[ -n "$POSTGRES_DB" ]]; then
  sleep 1
  psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" -c "INSERT INTO items (name) VALUES ('from a sourced script')"
fi
`,
};

for (const engine of await passEngines()) {
  t.test(
    `${engine}: a password from a secret's file, a trust database, postgres flags in the command, the init scripts`,
    async (t) => {
      const id = testRunId('pgk');
      const { dir, realstack } = linkedProject(
        t,
        { ...files, ...(engine === 'docker' ? shellScripts : {}) },
        id,
      );
      writeFileSync(
        path.join(dir, 'init/02-rows.sql.gz'),
        gzipSync("INSERT INTO items (name) VALUES ('from a gzipped dump');\n"),
      );
      if (engine === 'docker') chmodSync(path.join(dir, 'init/03-run.sh'), 0o755);
      const inProject = (args: string[]) => realstack(args, { REALSTACK_ENGINE: engine });
      t.teardown(() => inProject(['down']));

      const up = await inProject(['up']);
      t.equal(up.exitCode, 0, up.stderr);
      t.match(
        up.stderr,
        'open: port 5432 is published on an ephemeral port of 127.0.0.1, which the compose file does not do',
        'a database the compose file publishes nowhere is reached from here all the same',
      );
      const ps = JSON.parse((await inProject(['ps', '--json'])).stdout) as {
        services: { name: string; url: string }[];
      };
      const url = (name: string) => new URL(ps.services.find((s) => s.name === name)?.url as string);

      const shop = url('shop');
      t.equal(
        `${shop.username}@${shop.pathname}`,
        'shop@/orders',
        'the user and database of the compose file',
      );
      const query = async (target: URL, password: string, sql: string) => {
        const withPassword = new URL(target);
        withPassword.password = encodeURIComponent(password);
        return queryAt(withPassword, sql);
      };
      t.same(
        (await query(shop, 'from the secret', 'SELECT name FROM items ORDER BY n')).map((r) => r.name),
        [
          'from a gzipped dump',
          ...(engine === 'docker' ? ['from an executable script', 'from a sourced script'] : []),
        ],
        "the password is the secret file's, without its newline; the init scripts ran in name order",
      );
      t.same(
        await query(shop, 'from the secret', 'SHOW max_connections'),
        [{ max_connections: '42' }],
        "the command's flags reach postgres",
      );
      const databases = 'SELECT datname, pg_get_userbyid(datdba) AS owner FROM pg_database ORDER BY datname';
      t.same(
        await query(shop, 'from the secret', databases),
        [
          { datname: 'orders', owner: 'shop' },
          { datname: 'postgres', owner: 'shop' },
          { datname: 'template0', owner: 'shop' },
          { datname: 'template1', owner: 'shop' },
        ],
        "POSTGRES_DB's database beside initdb's, the superuser's, as the official image makes them",
      );
      t.same(
        (await query(url('open'), '', databases)).map((r) => r.datname),
        ['postgres', 'template0', 'template1'],
        "no POSTGRES_DB: initdb's databases alone",
      );
      await t.rejects(
        query(shop, 'a wrong one', 'SELECT 1'),
        /password authentication failed/,
        'a wrong password is refused: the database asks for one',
      );
      t.same(
        await query(url('open'), '', 'SELECT current_user AS who'),
        [{ who: 'postgres' }],
        'POSTGRES_HOST_AUTH_METHOD=trust: no password, the default user',
      );
      t.same(
        await query(
          url('tuned'),
          'tuned',
          'SELECT current_setting($$data_checksums$$) AS sums, current_setting($$TimeZone$$) AS zone',
        ),
        [{ sums: 'on', zone: 'Europe/Paris' }],
        "initdb had the compose file's arguments, and recorded its time zone",
      );

      const down = await inProject(['down']);
      t.equal(down.exitCode, 0, down.stderr);
      t.notOk(hasStackTrace(down.stderr), 'no stack trace');
      t.same(await leftovers(id, [], dir), [], 'nothing of the run is left');
    },
  );
}

t.test(
  'process engine: what it cannot do of the image is refused before anything starts',
  { skip: processPassOnly() },
  async (t) => {
    const cases: { what: string; compose: string; extra: Record<string, string>; error: RegExp }[] = [
      {
        what: 'a shell init script',
        compose: compose.replace('-c max_connections=42', 'postgres'),
        extra: { 'init/03-run.sh': 'echo hi\n' },
        error: /cannot start service "shop": it runs only \.sql and \.sql\.gz init scripts, not 03-run\.sh/,
      },
      {
        what: "a password file it cannot see (an external secret's)",
        compose: compose.replace('file: ./shop_password.txt', 'external: true'),
        extra: {},
        error:
          /cannot start service "shop": POSTGRES_PASSWORD_FILE \(\/run\/secrets\/shop_password\) names a file this machine does not have/,
      },
      {
        what: 'a command that is not postgres',
        compose: compose.replace('-c max_connections=42', 'sh -c "exec postgres"'),
        extra: {},
        error: /cannot start service "shop": its command \(sh -c exec postgres\) does not run postgres/,
      },
    ];
    for (const c of cases) {
      const id = testRunId('pgr');
      const { dir, realstack } = linkedProject(
        t,
        { ...files, ...c.extra, 'docker-compose.yml': c.compose },
        id,
      );
      const up = await realstack(['up']);
      t.equal(up.exitCode, 1, `${c.what}: up fails`);
      t.match(up.stderr, c.error, `${c.what}: named, with what to do`);
      t.notOk(hasStackTrace(up.stderr), `${c.what}: no stack trace`);
      await realstack(['down']);
      t.same(await leftovers(id, [], dir), [], `${c.what}: nothing of the run is left`);
    }
  },
);
